using System.CommandLine;
using System.Runtime.InteropServices;

namespace OlmoeSharp.Cli.Commands;

/// <summary><c>logits --model DIR --tokens 1,2,3 --out FILE</c>: every position's logits as raw little-endian float32 [T, vocab].</summary>
internal static class LogitsCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated input token ids.", Required = true };
        var output = new Option<string>("--out") { Description = "Output file: float32 little-endian, row-major [T, vocab_size], no header.", Required = true };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var command = new Command("logits", "Write the logits of every position of a token sequence.") { model, tokens, output, threads, weights, kvCache, noProbe };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            var ids = CliRunner.ParseTokenList(parse.GetValue(tokens)!);
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel);
            var logits = new float[(long)ids.Length * loaded.Config.VocabSize];
            loaded.CreateSession().Evaluate(ids, logits, cancel);
            await using var file = File.Create(parse.GetValue(output)!);
            file.Write(MemoryMarshal.AsBytes(logits.AsSpan()));
            return 0;
        }));
        return command;
    }
}
