using System.CommandLine;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json;
using OlmoeSharp;
using OlmoeSharp.Cli;
using OlmoeSharp.Scoring;
using OlmoeSharp.LlamaCppBaseline;

// The llama.cpp side of the side-by-side comparison: `export-gguf` writes the same weights as GGUF, `bench` measures
// them with the prompt/decode protocol of `olmoe bench`, `concurrency` batches streams as `olmoe bench --concurrency` does, `compare` checks both engines compute the same logits,
// `quantize` runs llama.cpp's quantizer (and its dequantizer, --type f32), `check-quantize` compares olmoe's quantizer with it.
var model = new Option<string>("--model") { Description = "Checkpoint folder (safetensors).", Required = true };
var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json (default: the one in --model)." };
var output = new Option<string>("--out") { Description = "GGUF file to write.", Required = true };
var export = new Command("export-gguf", "Write a safetensors checkpoint as a GGUF file llama.cpp can load, every matrix in its stored type (olmoe quantize writes the quantized ones).") { model, tokenizer, output };
export.SetAction(parse =>
{
    var clock = Stopwatch.StartNew();
    OlmoeSharp.Checkpoints.GgufExport.Write(parse.GetValue(model)!, parse.GetValue(output)!, new OlmoeSharp.Checkpoints.GgufExportOptions { TokenizerPath = parse.GetValue(tokenizer) });
    Console.WriteLine($"wrote {parse.GetValue(output)} ({new FileInfo(parse.GetValue(output)!).Length / 1e9:F2} GB) in {clock.Elapsed.TotalSeconds:F1} s");
});

var gguf = new Option<string>("--gguf") { Description = "GGUF file.", Required = true };
var promptTokens = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 128 };
var genTokens = new Option<int>("--gen-tokens") { DefaultValueFactory = _ => 64 };
var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 2 };
var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 3 };
var warmup = new Option<int>("--warmup") { Description = "Unmeasured runs first, as in `olmoe bench`.", DefaultValueFactory = _ => 1 };
var json = new Option<bool>("--json") { Description = "End stdout with one JSON object of the results." };
var bench = new Command("bench", "Prefill and decode speed of llama.cpp on a GGUF file, same protocol as `olmoe bench`.")
{
    gguf, promptTokens, genTokens, threads, runs, warmup, json,
};
bench.SetAction(parse =>
{
    int prompt = parse.GetValue(promptTokens), gen = parse.GetValue(genTokens), runCount = parse.GetValue(runs);
    var loadClock = Stopwatch.StartNew();
    using var runner = new LlamaCppRunner(parse.GetValue(gguf)!, parse.GetValue(threads), prompt + gen + 16);
    double loadSeconds = loadClock.Elapsed.TotalSeconds;
    int[] promptIds = BenchProtocol.RandomPrompt(prompt, runner.VocabSize);
    float[] logits = [];
    var (prefillMedian, decodeMedian) = BenchProtocol.Measure(parse.GetValue(warmup), runCount, prompt, gen,
        reset: runner.Reset,
        prefill: () => logits = runner.Evaluate(promptIds, 0),
        decodeOne: i => logits = runner.Evaluate([TensorPrimitives.IndexOfMax(logits)], prompt + i));
    double peakRssMb = BenchProtocol.PeakResidentMegabytes();
    Console.WriteLine($"llama.cpp ({LlamaCppRunner.Build} build) median: prefill {prefillMedian:F2} tok/s, decode {decodeMedian:F2} tok/s, peak RSS {peakRssMb:F0} MB, load {loadSeconds:F2} s");
    if (parse.GetValue(json))
    {
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["engine"] = "llama.cpp (LLamaSharp 0.30.0)",
            ["build"] = LlamaCppRunner.Build,
            ["simd"] = BenchProtocol.SimdClass(),
            ["load_s"] = Math.Round(loadSeconds, 3),
            ["prefill_tok_s"] = Math.Round(prefillMedian, 3),
            ["decode_tok_s"] = Math.Round(decodeMedian, 3),
            ["peak_rss_mb"] = Math.Round(peakRssMb, 1),
            ["prompt_tokens"] = prompt,
            ["gen_tokens"] = gen,
            ["runs"] = runCount,
            ["warmup_runs"] = parse.GetValue(warmup),
            ["threads"] = parse.GetValue(threads),
        }));
    }
});

var levels = new Option<string>("--concurrency") { Description = "Comma-separated numbers of concurrent streams (e.g. 1,2,4,8,16).", Required = true };
var check = new Option<bool>("--check") { Description = "First check one stream's greedy ids against `bench`'s one-sequence path, and again when it joins other streams in the seq_id of one just cancelled." };
var concurrency = new Command("concurrency", "Batched generation on llama.cpp (continuous batching, one llama_decode per step for every running sequence), same protocol and report as `olmoe bench --concurrency`.")
{
    gguf, levels, promptTokens, genTokens, threads, json, check,
};
concurrency.SetAction(parse => ConcurrencyCommand.RunAsync(parse.GetValue(gguf)!, ConcurrencyProtocol.ParseLevels(parse.GetValue(levels))!, parse.GetValue(promptTokens), parse.GetValue(genTokens),
    parse.GetValue(threads), parse.GetValue(json), parse.GetValue(check)));

var tokens = new Option<int>("--tokens") { Description = "Random prompt tokens to compare.", DefaultValueFactory = _ => 16 };
var compare = new Command("compare", "Run the same prompt through OlmoeSharp and llama.cpp and report the largest logit difference.")
{
    model, gguf, tokens, threads,
};
compare.SetAction(parse =>
{
    int count = parse.GetValue(tokens);
    using var ours = OlmoeModel.Load(parse.GetValue(model)!, new ModelLoadOptions { Threads = parse.GetValue(threads) });
    int vocab = ours.Config.VocabSize;
    var random = new Random(99);
    int[] ids = Enumerable.Range(0, count).Select(_ => random.Next(0, vocab)).ToArray();
    var ourLogits = new float[count * vocab];
    ours.CreateSession().Evaluate(ids, ourLogits);
    using var runner = new LlamaCppRunner(parse.GetValue(gguf)!, parse.GetValue(threads), count + 16, float32Cache: true);
    var theirLogits = runner.Evaluate(ids, 0, allLogits: true);
    double worst = 0, scale = 0;
    int argmaxAgreement = 0;
    for (int row = 0; row < count; row++)
    {
        var a = ourLogits.AsSpan(row * vocab, vocab);
        var b = theirLogits.AsSpan(row * vocab, vocab);
        for (int i = 0; i < vocab; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        scale = Math.Max(scale, TensorPrimitives.MaxMagnitude(a));
        if (TensorPrimitives.IndexOfMax(a) == TensorPrimitives.IndexOfMax(b)) argmaxAgreement++;
    }
    Console.WriteLine($"{count} positions: max |ours - llama.cpp| = {worst:G3} (largest logit {scale:G3}), same argmax at {argmaxAgreement}/{count}");
});

var input = new Option<string>("--in") { Description = "GGUF file to quantize.", Required = true };
var ftype = new Option<string>("--type") { Description = "llama.cpp's file type: q8_0, q4_0, q4_k_m, q5_k_m, q6_k, iq4_xs, f32 (dequantize), …", Required = true };
var quantize = new Command("quantize", "Quantize (or dequantize, with --type f32) a GGUF file with llama.cpp's own quantizer.") { input, ftype, output, threads };
quantize.SetAction(parse =>
{
    var clock = Stopwatch.StartNew();
    LlamaQuantize(parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(ftype)!, parse.GetValue(threads));
    Console.WriteLine($"wrote {parse.GetValue(output)} ({new FileInfo(parse.GetValue(output)!).Length / 1e9:F2} GB, {parse.GetValue(ftype)!.ToUpperInvariant()}) in {clock.Elapsed.TotalSeconds:F1} s");
});

var checkType = new Option<string>("--type") { Description = "q8_0, q4_0, q4_k_m, q5_k_m or q6_k.", Required = true };
var checkQuantize = new Command("check-quantize", "Quantize a checkpoint with olmoe's quantizer and with llama.cpp's, and compare the files' metadata and every tensor's type and bytes.") { model, checkType, threads };
checkQuantize.SetAction(parse =>
{
    var (compared, mismatched) = QuantizationCheck.Run(parse.GetValue(model)!, parse.GetValue(checkType)!, parse.GetValue(threads),
        (from, to, type) => LlamaQuantize(from, to, type, parse.GetValue(threads)), Console.WriteLine);
    Console.WriteLine($"{compared} tensors and metadata keys: {mismatched} differ from llama.cpp's quantizer's file");
    return mismatched == 0 ? 0 : 1;
});

var f32File = new Option<string>("--f32") { Description = "The F32 GGUF llama.cpp's dequantizer made of --gguf (`quantize --type f32`).", Required = true };
var checkDequant = new Command("check-dequant", "Compare OlmoeSharp's dequantization of every tensor of a GGUF file with llama.cpp's, bit for bit.") { gguf, f32File };
checkDequant.SetAction(parse =>
{
    var (tensors, mismatched, worst) = DequantizationCheck.Run(parse.GetValue(gguf)!, parse.GetValue(f32File)!, Console.WriteLine);
    Console.WriteLine($"{tensors} tensors: {mismatched} differ from llama.cpp's dequantizer (largest difference {worst:G3})");
    return mismatched == 0 ? 0 : 1;
});

var textFile = new Option<string>("--file") { Description = "UTF-8 text to score.", Required = true };
var pplContext = new Option<int>("--context") { DefaultValueFactory = _ => 512 };
var perplexity = new Command("perplexity", "llama.cpp's perplexity of a GGUF file on a text, windowed as llama-perplexity does (the text tokenized by OlmoeSharp's tokenizer of the file).")
{
    gguf, textFile, pplContext, threads,
};
perplexity.SetAction(parse =>
{
    int n = parse.GetValue(pplContext);
    var tokens = OlmoeSharp.Tokenization.OlmoeTokenizer.FromGguf(parse.GetValue(gguf)!).Encode(File.ReadAllText(parse.GetValue(textFile)!)).ToArray();
    using var runner = new LlamaCppRunner(parse.GetValue(gguf)!, parse.GetValue(threads), n, float32Cache: true);
    // llama-perplexity: ⌊T / n⌋ windows of n tokens from an empty cache, rows n/2 … n−2 score the token after them.
    int windows = tokens.Length / n, first = n / 2, vocab = runner.VocabSize;
    double nll = 0;
    int scored = 0;
    var logProbabilities = new float[vocab];
    for (int w = 0; w < windows; w++)
    {
        runner.Reset();
        var logits = runner.Evaluate(tokens.AsSpan(w * n, n), 0, allLogits: true);
        for (int i = first; i < n - 1; i++)
        {
            Scorer.LogSoftmaxInto(logits.AsSpan(i * vocab, vocab), logProbabilities);
            nll -= logProbabilities[tokens[w * n + i + 1]];
            scored++;
        }
    }
    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["perplexity"] = Math.Exp(nll / scored), ["tokens_scored"] = scored, ["windows"] = windows }));
});

var gigabytes = new Option<double>("--gigabytes") { Description = "Buffer size, far more than the caches hold.", DefaultValueFactory = _ => 4 };
var readBandwidth = new Command("read-bandwidth", "The machine's streaming read rate with --threads threads (GB/s, best of 5 passes over a huge-page buffer): the ceiling of decoding, over the bytes a token reads.")
{
    threads, gigabytes, json,
};
readBandwidth.SetAction(parse =>
{
    double rate = ReadBandwidth.Measure(parse.GetValue(threads), (long)(parse.GetValue(gigabytes) * 1e9), passes: 5);
    Console.WriteLine($"streaming read, {parse.GetValue(threads)} threads: {rate:F1} GB/s");
    if (parse.GetValue(json))
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["read_gb_s"] = Math.Round(rate, 2), ["threads"] = parse.GetValue(threads) }));
});

var root = new RootCommand("llama.cpp baseline for OlmoeSharp's benchmarks.") { readBandwidth, perplexity, export, bench, concurrency, compare, quantize, checkDequant, checkQuantize };
return await root.Parse(args).InvokeAsync();

// llama.cpp's quantizer (llama_model_quantize) on a GGUF file: --type f32 dequantizes with its dequantizer.
static void LlamaQuantize(string input, string output, string type, int threads)
{
    LlamaCppRunner.ChooseLibrary();
    LLama.Native.NativeApi.llama_empty_call(); // loads the chosen library: the quantizer's own entry points do not
    string name = type.ToUpperInvariant();
    var fileType = name == "F32" ? LLama.Native.LLamaFtype.ALL_F32 : Enum.Parse<LLama.Native.LLamaFtype>("MOSTLY_" + name);
    if (!LLama.LLamaQuantizer.Quantize(input, output, fileType, threads, allowRequantize: true, quantizeOutputTensor: true))
        throw new InvalidOperationException($"llama.cpp could not quantize {input} to {name}.");
}
