using OlmoeSharp.Hub;
using Spectre.Console;

namespace OlmoeSharp.Cli;

/// <summary>One Spectre.Console progress bar per file, added when the file's download starts.</summary>
internal sealed class LiveDownloadProgress(ProgressContext context) : IProgress<DownloadProgress>
{
    private readonly Dictionary<string, ProgressTask> _bars = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public void Report(DownloadProgress value)
    {
        if (!_bars.TryGetValue(value.FileName, out var bar))
        {
            bar = context.AddTask(Markup.Escape(value.FileName), maxValue: Math.Max(value.TotalBytes, 1));
            _bars.Add(value.FileName, bar);
        }
        bar.Value = value.BytesDone;
        if (value.IsComplete) bar.StopTask();
    }
}
