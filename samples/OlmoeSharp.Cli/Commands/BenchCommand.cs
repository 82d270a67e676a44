using System.CommandLine;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text.Json;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>bench --model DIR --prompt-tokens 128 --gen-tokens 64 --threads 2 --runs 3 [--json]</c>: load once, then per run
/// prefill a prompt and decode tokens one at a time; report medians, peak memory and the weight bandwidth achieved.
/// With <c>--concurrency 1,2,4,8,16</c>: batched generation instead (<see cref="ConcurrencyBench"/>).
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length.", DefaultValueFactory = _ => 128 };
        var genTokens = new Option<int>("--gen-tokens") { Description = "Tokens to decode after the prompt.", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "Measured runs (the median is reported).", DefaultValueFactory = _ => 3 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured runs first (JIT tiering, caches).", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "End stdout with one JSON object of the results." };
        var concurrency = new Option<string?>("--concurrency")
        {
            Description = "Comma-separated numbers of concurrent streams (e.g. 1,2,4,8,16): measure batched generation's aggregate and per-stream decode speed, the experts each step reads and the bandwidth ceiling they leave, and a newcomer's time to first token instead.",
        };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var command = new Command("bench", "Measure load time, prompt and decode speed, and peak memory.")
        {
            model, promptTokens, genTokens, threads, weights, kvCache, noProbe, runs, warmup, json, concurrency,
        };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            int prompt = parse.GetValue(promptTokens), gen = parse.GetValue(genTokens), runCount = parse.GetValue(runs), warmupCount = parse.GetValue(warmup);
            if (prompt < 1 || gen < 1 || runCount < 1) throw new ArgumentException("--prompt-tokens, --gen-tokens and --runs must be at least 1.");
            if (warmupCount < 0) throw new ArgumentException("--warmup must not be negative.");
            int[]? levels = ConcurrencyProtocol.ParseLevels(parse.GetValue(concurrency));
            var loadClock = Stopwatch.StartNew();
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel,
                batching: levels is null ? null : new Batching.BatchingOptions { MaxSequences = levels.Max() + 1 });
            double loadSeconds = loadClock.Elapsed.TotalSeconds;
            var c = loaded.Config;
            if (prompt + gen > c.MaxPositionEmbeddings) throw new ArgumentException($"prompt + generated tokens exceed the context of {c.MaxPositionEmbeddings}.");
            if (levels is not null) return await ConcurrencyBench.RunAsync(loaded, levels, prompt, gen, parse.GetValue(json));

            int[] promptIds = BenchProtocol.RandomPrompt(prompt, c.VocabSize);
            var logits = new float[c.VocabSize];
            int[] next = new int[1];
            Console.WriteLine($"model {loaded.Directory}: {c.NumHiddenLayers} layers, d={c.HiddenSize}, {c.NumExperts} experts (top {c.NumExpertsPerToken}), {loaded.WeightBytes / 1e9:F2} GB of weights, {loaded.BytesPerDecodedToken / 1e9:F3} GB read per decoded token; {loaded.Threads} threads, {BenchProtocol.SimdClass()}; {loaded.Residency.ToString().ToLowerInvariant()} weights, load {loadSeconds:F2} s");
            // One session, reset between runs, as an application would keep it.
            var session = loaded.CreateSession();
            var (prefillMedian, decodeMedian) = BenchProtocol.Measure(warmupCount, runCount, prompt, gen,
                reset: session.Reset,
                prefill: () => session.Evaluate(promptIds, logits, cancel),
                decodeOne: _ =>
                {
                    next[0] = TensorPrimitives.IndexOfMax(logits);
                    session.Evaluate(next, logits, cancel);
                });
            double gbPerSecond = decodeMedian * loaded.BytesPerDecodedToken / 1e9;
            double peakRssMb = BenchProtocol.PeakResidentMegabytes();
            Console.WriteLine($"median: prefill {prefillMedian:F2} tok/s, decode {decodeMedian:F2} tok/s ({gbPerSecond:F1} GB/s of weights), peak RSS {peakRssMb:F0} MB");
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["load_s"] = Math.Round(loadSeconds, 3),
                    ["prefill_tok_s"] = Math.Round(prefillMedian, 3),
                    ["decode_tok_s"] = Math.Round(decodeMedian, 3),
                    ["peak_rss_mb"] = Math.Round(peakRssMb, 1),
                    ["decode_weight_gb_s"] = Math.Round(gbPerSecond, 2),
                    ["prompt_tokens"] = prompt,
                    ["gen_tokens"] = gen,
                    ["runs"] = runCount,
                    ["warmup_runs"] = warmupCount,
                    ["threads"] = loaded.Threads,
                    ["simd"] = BenchProtocol.SimdClass(),
                    ["weight_bytes"] = loaded.WeightBytes,
                    ["weights"] = loaded.Residency.ToString().ToLowerInvariant(),
                    ["weights_choice"] = loaded.ResidencyChoice,
                    ["kv_cache"] = loaded.KvCachePrecision == KvCachePrecision.BFloat16 ? "bf16" : "f32",
                    ["bytes_per_token"] = loaded.BytesPerDecodedToken,
                }));
            }
            return 0;
        }));
        return command;
    }
}
