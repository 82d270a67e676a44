using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using OlmoeSharp.Scoring;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>score --model M (--text T | --file F | --tokens 1,2,3) [--top-k 5] [--json]</c>: the log-probability of every
/// token of a text given the ones before it, its rank and the top-k alternatives
/// (<see cref="Scorer.Score(string, int, CancellationToken)"/>); one line per token, or one JSON object.
/// </summary>
internal static class ScoreCommand
{
    private static readonly JsonSerializerOptions TextOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var text = new Option<string?>("--text") { Description = "Text to score." };
        var file = new Option<string?>("--file") { Description = "UTF-8 text file to score." };
        var tokens = new Option<string?>("--tokens") { Description = "Comma-separated token ids to score (for models without a tokenizer)." };
        var topK = new Option<int>("--top-k") { Description = "Most probable alternatives to show per position.", DefaultValueFactory = _ => Scorer.DefaultTopK };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (one line) instead of the table." };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var command = new Command("score", "Log-probabilities of every token of a text, with the top-k alternatives.")
        {
            model, text, file, tokens, topK, json, threads, weights, kvCache, noProbe,
        };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            string? inline = parse.GetValue(text), path = parse.GetValue(file), ids = parse.GetValue(tokens);
            if ((inline is null ? 0 : 1) + (path is null ? 0 : 1) + (ids is null ? 0 : 1) != 1)
                throw new ArgumentException("give exactly one of --text, --file and --tokens.");
            if (path is not null) inline = await File.ReadAllTextAsync(path, cancel);
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel);
            var scorer = new Scorer(loaded);
            int[] sequence = ids is not null ? CliRunner.ParseTokenList(ids) : scorer.Encode(inline!);
            var scores = scorer.Score(sequence, parse.GetValue(topK), cancel);
            var tokenizer = loaded.Tokenizer;
            string Piece(int id) => tokenizer is null ? "" : tokenizer.Decode([id]);

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["tokens"] = scores.Tokens.ToArray(),
                    ["scores"] = scores.Select(s => new Dictionary<string, object>
                    {
                        ["position"] = s.Position,
                        ["token"] = s.Token,
                        ["text"] = Piece(s.Token),
                        ["logprob"] = s.LogProbability,
                        ["rank"] = s.Rank,
                        ["top"] = s.Alternatives.ToArray().Select(a => new Dictionary<string, object>
                        {
                            ["token"] = a.Token,
                            ["text"] = Piece(a.Token),
                            ["logprob"] = a.LogProbability,
                        }).ToArray(),
                    }).ToArray(),
                    ["total_logprob"] = scores.TotalLogProbability,
                    ["perplexity"] = scores.Perplexity,
                }, TextOptions));
                return 0;
            }
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine($"{"pos",5} {"token",7} {"logprob",9} {"rank",6}  text → top {scores.TopK}");
            foreach (var s in scores)
            {
                string top = string.Join("  ", s.Alternatives.ToArray().Select(a => string.Create(inv, $"{Quote(Piece(a.Token))}:{a.LogProbability:F3}")));
                Console.WriteLine(string.Create(inv, $"{s.Position,5} {s.Token,7} {s.LogProbability,9:F4} {s.Rank,6}  {Quote(Piece(s.Token))} → {top}"));
            }
            Console.WriteLine(string.Create(inv, $"{scores.Count} tokens scored: total log-prob {scores.TotalLogProbability:F4}, perplexity {scores.Perplexity:F4}"));
            return 0;
        }));
        return command;
    }

    /// <summary>A token's text as a JSON string literal, so spaces, newlines and control characters show.</summary>
    private static string Quote(string piece) => JsonSerializer.Serialize(piece, TextOptions);
}
