using System.CommandLine;
using System.Diagnostics;
using OlmoeSharp.Checkpoints;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>quantize --model DIR|REPO|FILE.gguf --type q8_0|q4_0|q4_k_m|q5_k_m|q6_k|bf16|f16|f32 --out FILE.gguf [--threads N]</c>:
/// a GGUF file llama.cpp loads, its tensor types mixed as llama.cpp's quantizer mixes them.
/// </summary>
internal static class QuantizeCommand
{
    private static readonly Dictionary<string, GgufFileType> Types = new()
    {
        ["q8_0"] = GgufFileType.Q8_0,
        ["q4_0"] = GgufFileType.Q4_0,
        ["q4_k_m"] = GgufFileType.Q4_K_M,
        ["q5_k_m"] = GgufFileType.Q5_K_M,
        ["q6_k"] = GgufFileType.Q6_K,
        ["bf16"] = GgufFileType.BF16,
        ["f16"] = GgufFileType.F16,
        ["f32"] = GgufFileType.F32,
    };

    public static Command Create()
    {
        var model = CommonOptions.Model();
        model.Description = "Model folder, Hugging Face repo id, or .gguf file (requantized from its dequantized weights).";
        var type = new Option<string>("--type") { Description = "q8_0, q4_0, q4_k_m, q5_k_m, q6_k (llama.cpp's mixes), or bf16, f16, f32.", Required = true };
        type.AcceptOnlyFromAmong([.. Types.Keys]);
        var output = new Option<string>("--out") { Description = "GGUF file to write.", Required = true };
        var threads = new Option<int>("--threads") { Description = "Threads quantizing rows (0 = one per core).", DefaultValueFactory = _ => 0 };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json to write (default: the model's own)." };
        var command = new Command("quantize", "Write a model as a GGUF file llama.cpp loads, quantized as llama.cpp's quantizer does it.")
        {
            model, type, output, threads, tokenizer,
        };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            string source = await ModelLocator.ResolveAsync(parse.GetValue(model)!, null, cancel);
            string path = parse.GetValue(output)!;
            var fileType = Types[parse.GetValue(type)!];
            var clock = Stopwatch.StartNew();
            var progress = new TensorProgress();
            await Task.Run(() => GgufExport.Write(source, path, new GgufExportOptions
            {
                FileType = fileType,
                Threads = parse.GetValue(threads),
                TokenizerPath = parse.GetValue(tokenizer),
                Progress = progress,
            }, cancel), cancel);
            progress.Finish();
            Console.Error.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1e9:F2} GB, {parse.GetValue(type)}) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }

    /// <summary>On a terminal one line, rewritten a few times a second; redirected, one line per tensor.</summary>
    private sealed class TensorProgress : IProgress<GgufExportProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _lastMs = -1000;
        private int _lastTensor = -1;

        public void Report(GgufExportProgress p)
        {
            string line = $"{p.TensorIndex + 1}/{p.TensorCount} {p.Tensor} {p.Type}, {p.BytesDone / 1e9:F2}/{p.TotalBytes / 1e9:F2} GB";
            if (Console.IsErrorRedirected)
            {
                if (p.TensorIndex != _lastTensor) Console.Error.WriteLine(line);
                _lastTensor = p.TensorIndex;
                return;
            }
            if (_clock.ElapsedMilliseconds - _lastMs < 250) return;
            _lastMs = _clock.ElapsedMilliseconds;
            Console.Error.Write($"\r{line}\u001b[K");
        }

        public void Finish()
        {
            if (!Console.IsErrorRedirected) Console.Error.WriteLine();
        }
    }
}
