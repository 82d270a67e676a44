using System.Diagnostics;

namespace OlmoeSharp.Cli;

/// <summary>A throttled one-line byte counter on stderr (at most a few updates a second; nothing when stderr is redirected).</summary>
internal sealed class ConsoleByteProgress(string label) : IProgress<long>
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastReportMs = -1000;

    public void Report(long bytes)
    {
        if (Console.IsErrorRedirected || _clock.ElapsedMilliseconds - _lastReportMs < 250) return;
        _lastReportMs = _clock.ElapsedMilliseconds;
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        Console.Error.Write($"\r{label} {bytes / 1e9:F2} GB ({bytes / 1e9 / seconds:F2} GB/s)   ");
    }

    public void Finish()
    {
        if (!Console.IsErrorRedirected) Console.Error.WriteLine();
    }
}
