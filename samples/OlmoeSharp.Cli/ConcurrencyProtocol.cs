using System.Diagnostics;

namespace OlmoeSharp.Cli;

/// <summary>
/// The measurement protocol of <c>bench --concurrency</c>, shared with the llama.cpp baseline (which compiles this file
/// too) so both engines batch the same work: N streams, each with its own random prompt, start together and decode
/// greedily; the aggregate speed is taken in the steady state, while all N decode (from the moment the last stream
/// has its first token to the moment the first stream is done), so prompt time does not blur it. A newcomer's time
/// to first token is measured with N others decoding, against its time alone.
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

    /// <summary>Stream <paramref name="stream"/>'s prompt: ids from a seed of its own, so no two streams share a prefix.</summary>
    public static int[] Prompt(int stream, int tokens, int vocab)
    {
        var random = new Random(5000 + stream);
        return [.. Enumerable.Range(0, tokens).Select(_ => random.Next(0, Math.Min(vocab, 50280)))];
    }

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
