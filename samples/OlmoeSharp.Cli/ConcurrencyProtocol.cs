using System.Diagnostics;
using System.Text.Json;

namespace OlmoeSharp.Cli;

/// <summary>
/// The measurement protocol of <c>bench --concurrency</c>, shared with the llama.cpp baseline (which compiles this file
/// too) so both engines batch the same work: N streams, each with its own random prompt, start together and decode
/// greedily; the aggregate speed is taken in the steady state, while all N decode (from the moment the last stream
/// has its first token to the moment the first stream is done), so prompt time does not blur it. A newcomer's time
/// to first token is measured with N others decoding, against its time alone. The report's lines and JSON keys are
/// made here too, so the two engines' logs line up.
/// </summary>
internal static class ConcurrencyProtocol
{
    /// <summary>
    /// Runs one stream: evaluates <c>prompt</c>, then decodes <c>gen</c> tokens, calling <c>onToken</c> as each
    /// arrives, until done or cancelled.
    /// </summary>
    public delegate Task RunStream(int[] prompt, int gen, Action onToken, CancellationToken cancellationToken);

    /// <summary>A concurrency level's figures.</summary>
    public sealed record Result(int Streams, double AggregateTokensPerSecond, double PerStreamTokensPerSecond, double MeanFirstTokenSeconds, int WindowTokens);

    /// <summary>A whole run's figures: each level, and a newcomer's first token idle and with <c>BusyOthers</c> decoding.</summary>
    public sealed record Report(IReadOnlyList<Result> Levels, double NewcomerIdleSeconds, double NewcomerBusySeconds, int BusyOthers);

    /// <summary>The numbers of streams of <c>--concurrency 1,2,4,8,16</c>; null without the option.</summary>
    public static int[]? ParseLevels(string? text)
    {
        if (text is null) return null;
        var levels = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(part => int.TryParse(part, out int n) && n is >= 1 and <= 256 ? n : throw new ArgumentException($"--concurrency: \"{part}\" is not a number of streams from 1 to 256."))
            .ToArray();
        return levels.Length > 0 ? levels : throw new ArgumentException("--concurrency needs at least one number of streams.");
    }

    /// <summary>
    /// The whole run: a warm-up (one stream, then four at once, so the batched paths are compiled at full tier too, and
    /// the page cache is warm), each level in turn with a line printed per
    /// level (ending with the engine's forward <paramref name="steps"/> so far), then a newcomer's first token idle
    /// and with up to 8 others decoding, which run up to the model's <paramref name="maxPositions"/>.
    /// </summary>
    public static async Task<Report> RunAsync(int[] levels, int promptTokens, int gen, int vocab, int maxPositions, RunStream run, Func<long> steps)
    {
        await MeasureAsync(1, promptTokens, gen, vocab, run);
        await MeasureAsync(4, promptTokens, Math.Min(gen, 16), vocab, run);
        var results = new List<Result>();
        foreach (int streams in levels)
        {
            var result = await MeasureAsync(streams, promptTokens, gen, vocab, run);
            results.Add(result);
            Console.WriteLine($"{streams,3} streams: aggregate {result.AggregateTokensPerSecond:F2} tok/s, per stream {result.PerStreamTokensPerSecond:F2} tok/s ({result.WindowTokens} tokens in the steady state), mean first token {result.MeanFirstTokenSeconds:F2} s; {steps()} steps so far");
        }
        int backgroundGen = maxPositions - promptTokens;
        double idle = await NewcomerFirstTokenAsync(0, promptTokens, backgroundGen, vocab, run);
        int busyOthers = Math.Min(levels.Max(), 8);
        double busy = await NewcomerFirstTokenAsync(busyOthers, promptTokens, backgroundGen, vocab, run);
        Console.WriteLine($"newcomer's first token: {idle:F2} s idle, {busy:F2} s with {busyOthers} others decoding ({busy / idle:F2}×)");
        return new Report(results, idle, busy, busyOthers);
    }

    /// <summary>The run as one JSON object: the engine's own fields (engine, simd, threads, weights, …), then the protocol's.</summary>
    public static string Json(IEnumerable<KeyValuePair<string, object>> engine, int promptTokens, int gen, Report report)
    {
        double single = report.Levels.FirstOrDefault(r => r.Streams == 1)?.AggregateTokensPerSecond ?? double.NaN;
        var fields = new Dictionary<string, object>(engine)
        {
            ["prompt_tokens"] = promptTokens,
            ["gen_tokens"] = gen,
            ["levels"] = report.Levels.Select(r => new Dictionary<string, object>
            {
                ["streams"] = r.Streams,
                ["aggregate_tok_s"] = Math.Round(r.AggregateTokensPerSecond, 3),
                ["per_stream_tok_s"] = Math.Round(r.PerStreamTokensPerSecond, 3),
                ["vs_one_stream"] = Math.Round(r.AggregateTokensPerSecond / single, 3),
                ["mean_first_token_s"] = Math.Round(r.MeanFirstTokenSeconds, 3),
            }).ToArray(),
            ["newcomer_first_token_idle_s"] = Math.Round(report.NewcomerIdleSeconds, 3),
            ["newcomer_first_token_busy_s"] = Math.Round(report.NewcomerBusySeconds, 3),
            ["newcomer_busy_others"] = report.BusyOthers,
            ["peak_rss_mb"] = Math.Round(BenchProtocol.PeakResidentMegabytes(), 1),
        };
        return JsonSerializer.Serialize(fields);
    }

    /// <summary>Stream <paramref name="stream"/>'s prompt: ids from a seed of its own, so no two streams share a prefix.</summary>
    public static int[] Prompt(int stream, int tokens, int vocab) => BenchProtocol.RandomPrompt(tokens, vocab, seed: 5000 + stream);

    public static async Task<Result> MeasureAsync(int streams, int promptTokens, int gen, int vocab, RunStream run)
    {
        var stamps = new List<long>[streams];
        var clock = Stopwatch.StartNew();
        var tasks = new Task[streams];
        for (int s = 0; s < streams; s++)
        {
            var mine = stamps[s] = new List<long>(gen);
            var prompt = Prompt(s, promptTokens, vocab);
            tasks[s] = Task.Run(() => run(prompt, gen, () => { lock (mine) mine.Add(clock.ElapsedTicks); }, CancellationToken.None));
        }
        await Task.WhenAll(tasks);
        long start = stamps.Max(s => s[0]), end = stamps.Min(s => s[^1]);
        int window = stamps.Sum(s => s.Count(t => t > start && t <= end));
        double seconds = (end - start) / (double)Stopwatch.Frequency;
        if (window == 0 || seconds <= 0) // one stream, or streams that never overlapped: all tokens over the whole span
        {
            start = stamps.Min(s => s[0]);
            end = stamps.Max(s => s[^1]);
            window = stamps.Sum(s => s.Count - 1);
            seconds = (end - start) / (double)Stopwatch.Frequency;
        }
        double aggregate = window / seconds;
        double firstToken = stamps.Average(s => s[0] / (double)Stopwatch.Frequency);
        return new Result(streams, aggregate, aggregate / streams, firstToken, window);
    }

    /// <summary>
    /// Seconds to a newcomer's first token while <paramref name="others"/> streams decode (0: the machine idle); the
    /// others decode up to <paramref name="backgroundGen"/> tokens, more than the newcomer's prompt takes.
    /// </summary>
    public static async Task<double> NewcomerFirstTokenAsync(int others, int promptTokens, int backgroundGen, int vocab, RunStream run)
    {
        using var stop = new CancellationTokenSource();
        using var decoding = new CountdownEvent(others);
        var background = new Task[others];
        for (int s = 0; s < others; s++)
        {
            var prompt = Prompt(100 + s, promptTokens, vocab);
            int seen = 0;
            background[s] = Task.Run(() => run(prompt, backgroundGen, () => { if (Interlocked.Increment(ref seen) == 1) decoding.Signal(); }, stop.Token));
        }
        decoding.Wait();
        var clock = Stopwatch.StartNew();
        double firstToken = 0;
        try
        {
            await run(Prompt(99, promptTokens, vocab), 1, () => firstToken = clock.Elapsed.TotalSeconds, CancellationToken.None);
        }
        finally
        {
            stop.Cancel();
            try { await Task.WhenAll(background); } catch (OperationCanceledException) { }
        }
        return firstToken;
    }
}
