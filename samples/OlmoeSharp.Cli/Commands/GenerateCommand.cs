using System.CommandLine;
using System.Diagnostics;
using System.Numerics.Tensors;

namespace OlmoeSharp.Cli.Commands;

/// <summary><c>generate --model DIR --tokens 1,2,3 --max-new-tokens N --greedy --ignore-eos --ids-out FILE</c>.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (or Hugging Face repo id).", Required = true };
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated prompt token ids.", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 64 };
        var greedy = new Option<bool>("--greedy") { Description = "Always take the most likely token." };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Keep generating after the end-of-text token." };
        var idsOut = new Option<string?>("--ids-out") { Description = "Write the generated ids, comma-separated, to this file." };
        var threads = CommonOptions.Threads();
        var preload = CommonOptions.Preload();
        var command = new Command("generate", "Generate a continuation.") { model, tokens, maxNew, greedy, ignoreEos, idsOut, threads, preload };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            var prompt = CliRunner.ParseTokenList(parse.GetValue(tokens)!);
            int max = parse.GetValue(maxNew);
            if (max < 0) throw new ArgumentException("--max-new-tokens must not be negative.");
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(preload), cancel);
            var session = loaded.CreateSession();
            var logits = new float[loaded.Config.VocabSize];
            var clock = Stopwatch.StartNew();
            session.Evaluate(prompt, logits, cancel);
            var generated = new List<int>();
            int[] next = new int[1];
            while (generated.Count < max && session.Position < session.ContextLength)
            {
                next[0] = TensorPrimitives.IndexOfMax(logits);
                generated.Add(next[0]);
                if (!parse.GetValue(ignoreEos) && loaded.Config.EosTokenIds.Contains(next[0])) break;
                if (generated.Count < max) session.Evaluate(next, logits, cancel);
            }
            Console.WriteLine(string.Join(",", generated));
            if (parse.GetValue(idsOut) is { } path) await File.WriteAllTextAsync(path, string.Join(",", generated) + "\n", cancel);
            Console.Error.WriteLine($"{prompt.Length} prompt + {generated.Count} generated tokens in {clock.Elapsed.TotalSeconds:F2} s");
            return 0;
        }));
        return command;
    }
}
