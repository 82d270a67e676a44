using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OlmoeSharp.Scoring;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>perplexity --model M --file TEXT [--context 512] [--stride N] [--json]</c>: perplexity of a text file computed
/// as llama.cpp's <c>llama-perplexity</c> does (<see cref="Scorer.Perplexity(string, int, int, IProgress{PerplexityProgress}, CancellationToken)"/>).
/// A progress line with the running estimate goes to stderr; stdout gets llama.cpp's per-window estimates and the
/// final figure, and with <c>--json</c> ends with <c>{"perplexity": …, "tokens_scored": …, "windows": …}</c>.
/// </summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var file = new Option<string>("--file") { Description = "UTF-8 text file to score (tokenized whole, with the model's tokenizer).", Required = true };
        var context = new Option<int>("--context") { Description = "Tokens per window (llama.cpp's -c); the second half of each window is scored.", DefaultValueFactory = _ => Scorer.DefaultContext };
        var stride = new Option<int>("--stride") { Description = "0 (default): non-overlapping windows; N: windows every N tokens, each scoring its last N, as llama.cpp's --ppl-stride N (whose window is the context it allocates, -c × max(1, n_batch / -c) + N / 2).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "End stdout with one JSON line: {\"perplexity\", \"tokens_scored\", \"windows\"}." };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var command = new Command("perplexity", "Perplexity of a text file, computed as llama.cpp's llama-perplexity does.")
        {
            model, file, context, stride, json, threads, weights, kvCache, noProbe,
        };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            string path = parse.GetValue(file)!;
            string text = await File.ReadAllTextAsync(path, cancel);
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel);
            var scorer = new Scorer(loaded);
            int[] tokens = scorer.Encode(text);
            int ctx = parse.GetValue(context), step = parse.GetValue(stride);
            Console.Error.WriteLine($"{path}: {tokens.Length} tokens; windows of {ctx}{(step > 0 ? $", stride {step}" : "")}");
            var progress = new WindowProgress();
            var result = scorer.Perplexity(tokens, ctx, step, progress, cancel);
            progress.Finish();

            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Join("", result.RunningEstimates.Select((p, i) => string.Create(inv, $"[{i + 1}]{p:F4},"))));
            Console.WriteLine(string.Create(inv, $"Final estimate: PPL = {result.Perplexity:F4} +/- {result.Uncertainty:F5} ({result.TokensScored} tokens scored in {result.Windows} windows of {result.Context})"));
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["perplexity"] = result.Perplexity,
                    ["tokens_scored"] = result.TokensScored,
                    ["windows"] = result.Windows,
                }));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>On a terminal one line rewritten after every window; redirected, one line per window.</summary>
    private sealed class WindowProgress : IProgress<PerplexityProgress>
    {
        public void Report(PerplexityProgress p)
        {
            double perWindow = p.Elapsed.TotalSeconds / p.Window;
            var remaining = TimeSpan.FromSeconds(Math.Round(perWindow * (p.Windows - p.Window)));
            string line = string.Create(CultureInfo.InvariantCulture,
                $"[{p.Window}/{p.Windows}] perplexity {p.Perplexity:F4} over {p.TokensScored} tokens, {perWindow:F2} s per window, {remaining:c} left");
            if (Console.IsErrorRedirected) Console.Error.WriteLine(line);
            else Console.Error.Write($"\r{line}\u001b[K");
        }

        public void Finish()
        {
            if (!Console.IsErrorRedirected) Console.Error.WriteLine();
        }
    }
}
