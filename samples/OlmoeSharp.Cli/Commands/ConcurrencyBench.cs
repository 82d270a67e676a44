using System.Text.Json;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>bench --concurrency 1,2,4,8,16</c>: for each number of streams, that many greedy generations through one
/// <see cref="TextGenerator"/> at once (the model batches their steps), measured by <see cref="ConcurrencyProtocol"/>:
/// aggregate and per-stream decode speed in the steady state, and a newcomer's time to first token while the
/// others decode, against its time with the machine idle.
/// </summary>
internal static class ConcurrencyBench
{
    public static int[]? ParseLevels(string? text)
    {
        if (text is null) return null;
        var levels = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(part => int.TryParse(part, out int n) && n is >= 1 and <= 256 ? n : throw new ArgumentException($"--concurrency: \"{part}\" is not a number of streams from 1 to 256."))
            .ToArray();
        return levels.Length > 0 ? levels : throw new ArgumentException("--concurrency needs at least one number of streams.");
    }

    public static async Task<int> RunAsync(OlmoeModel model, int[] levels, int prompt, int gen, bool json)
    {
        var c = model.Config;
        // No prefix caching between streams: each has its own prompt, and idle caches would only hold memory.
        var generator = new TextGenerator(model) { MaxIdleSessions = 0 };
        ConcurrencyProtocol.RunStream run = async (ids, tokens, onToken, cancellationToken) =>
        {
            var options = new GenerationOptions { Temperature = 0, MaxNewTokens = tokens, IgnoreEndOfText = true };
            await foreach (var update in generator.GenerateAsync(ids, options, cancellationToken))
                if (update.TokenId is not null) onToken();
        };
        Console.WriteLine($"model {model.Directory}: {model.Threads} threads, {BenchProtocol.SimdClass()}; {model.Residency.ToString().ToLowerInvariant()} weights; {prompt}-token prompts, {gen} tokens per stream");
        await ConcurrencyProtocol.MeasureAsync(1, prompt, Math.Min(gen, 8), c.VocabSize, run); // warm-up (JIT tiering, page cache)

        var results = new List<ConcurrencyProtocol.Result>();
        foreach (int streams in levels)
        {
            var result = await ConcurrencyProtocol.MeasureAsync(streams, prompt, gen, c.VocabSize, run);
            results.Add(result);
            Console.WriteLine($"{streams,3} streams: aggregate {result.AggregateTokensPerSecond:F2} tok/s, per stream {result.PerStreamTokensPerSecond:F2} tok/s ({result.WindowTokens} tokens in the steady state), mean first token {result.MeanFirstTokenSeconds:F2} s; {model.BatchingStatus.Steps} steps so far");
        }
        int backgroundGen = c.MaxPositionEmbeddings - prompt;
        double idle = await ConcurrencyProtocol.NewcomerFirstTokenAsync(0, prompt, backgroundGen, c.VocabSize, run);
        int busyOthers = levels.Max() >= 8 ? 8 : levels.Max();
        double busy = await ConcurrencyProtocol.NewcomerFirstTokenAsync(busyOthers, prompt, backgroundGen, c.VocabSize, run);
        Console.WriteLine($"newcomer's first token: {idle:F2} s idle, {busy:F2} s with {busyOthers} others decoding ({busy / idle:F2}×)");
        double single = results.FirstOrDefault(r => r.Streams == 1)?.AggregateTokensPerSecond ?? double.NaN;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["engine"] = "olmoesharp",
                ["simd"] = BenchProtocol.SimdClass(),
                ["threads"] = model.Threads,
                ["weights"] = model.Residency.ToString().ToLowerInvariant(),
                ["prompt_tokens"] = prompt,
                ["gen_tokens"] = gen,
                ["levels"] = results.Select(r => new Dictionary<string, object>
                {
                    ["streams"] = r.Streams,
                    ["aggregate_tok_s"] = Math.Round(r.AggregateTokensPerSecond, 3),
                    ["per_stream_tok_s"] = Math.Round(r.PerStreamTokensPerSecond, 3),
                    ["vs_one_stream"] = Math.Round(r.AggregateTokensPerSecond / single, 3),
                    ["mean_first_token_s"] = Math.Round(r.MeanFirstTokenSeconds, 3),
                }).ToArray(),
                ["newcomer_first_token_idle_s"] = Math.Round(idle, 3),
                ["newcomer_first_token_busy_s"] = Math.Round(busy, 3),
                ["newcomer_busy_others"] = busyOthers,
                ["peak_rss_mb"] = Math.Round(BenchProtocol.PeakResidentMegabytes(), 1),
            }));
        }
        return 0;
    }
}
