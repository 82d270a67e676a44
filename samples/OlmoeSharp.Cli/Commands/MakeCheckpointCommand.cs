using System.CommandLine;
using System.Diagnostics;
using OlmoeSharp.Checkpoints;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Cli.Commands;

/// <summary><c>make-checkpoint --preset tiny|small|olmoe-1b-7b --dtype bf16|f16|f32 --shards K --seed N --out DIR</c>: a random checkpoint in Hugging Face layout.</summary>
internal static class MakeCheckpointCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "tiny, small or olmoe-1b-7b (full size, 13.8 GB in bf16).", DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong("tiny", "small", "olmoe-1b-7b");
        var dtype = new Option<string>("--dtype") { Description = "Weight storage type.", DefaultValueFactory = _ => "bf16" };
        dtype.AcceptOnlyFromAmong("bf16", "f16", "f32");
        var shards = new Option<int>("--shards") { Description = "Number of safetensors files.", DefaultValueFactory = _ => 1 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 1UL };
        var fused = new Option<bool>("--fused-experts") { Description = "Store experts fused per layer, as newer transformers do." };
        var output = new Option<string>("--out") { Description = "Folder to write.", Required = true };
        var command = new Command("make-checkpoint", "Write a checkpoint with random weights (for trying the pipeline and for benchmarks).")
        {
            preset, dtype, shards, seed, fused, output,
        };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(() =>
        {
            string dir = parse.GetValue(output)!;
            if (parse.GetValue(shards) < 1) throw new ArgumentException("--shards must be at least 1.");
            var config = RandomCheckpoint.Preset(parse.GetValue(preset)!);
            var stopwatch = Stopwatch.StartNew();
            var progress = new ConsoleByteProgress("writing");
            RandomCheckpoint.Write(dir, config, new RandomCheckpointOptions
            {
                DType = parse.GetValue(dtype) switch { "f16" => TensorDType.F16, "f32" => TensorDType.F32, _ => TensorDType.BF16 },
                Shards = parse.GetValue(shards),
                Seed = parse.GetValue(seed),
                FusedExperts = parse.GetValue(fused),
                Progress = progress,
            });
            progress.Finish();
            // A random model still needs the real tokenizer to turn text into ids.
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Assets", "olmoe-tokenizer.json"), Path.Combine(dir, "tokenizer.json"), overwrite: true);
            long bytes = Directory.GetFiles(dir).Sum(f => new FileInfo(f).Length);
            Console.Error.WriteLine($"wrote {dir}: {bytes / 1e6:F1} MB in {stopwatch.Elapsed.TotalSeconds:F1} s");
            return Task.FromResult(0);
        }));
        return command;
    }
}
