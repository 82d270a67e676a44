using System.CommandLine;
using System.Diagnostics;
using OlmoeSharp.Checkpoints;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>convert --model FILE.gguf --dtype f32|bf16 --out DIR</c>: a Hugging Face checkpoint of the file's dequantized
/// weights (config.json, safetensors with allenai's tensor names, one tensor per expert, tokenizer.json).
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        model.Description = "GGUF file (or repo:QUANT, or a model folder) to convert.";
        var dtype = new Option<string>("--dtype") { Description = "f32: the dequantized values exactly; bf16: rounded to nearest even.", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "bf16");
        var output = new Option<string>("--out") { Description = "Folder to write.", Required = true };
        var command = new Command("convert", "Write a GGUF model as a Hugging Face checkpoint of its dequantized weights.") { model, dtype, output };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            string source = await ModelLocator.ResolveAsync(parse.GetValue(model)!, null, cancel);
            string folder = parse.GetValue(output)!;
            var clock = Stopwatch.StartNew();
            var progress = new ConsoleByteProgress("writing");
            await Task.Run(() => SafeTensorsExport.Write(source, folder, new SafeTensorsExportOptions
            {
                DType = parse.GetValue(dtype) == "bf16" ? TensorDType.BF16 : TensorDType.F32,
                Progress = progress,
            }), cancel);
            progress.Finish();
            long bytes = Directory.GetFiles(folder).Sum(f => new FileInfo(f).Length);
            Console.Error.WriteLine($"wrote {folder}: {bytes / 1e9:F2} GB in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }
}
