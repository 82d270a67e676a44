using System.Globalization;
using OlmoeSharp.Hub;

namespace OlmoeSharp.Cli;

/// <summary>Progress as a line per file at every tenth of its size, for logs and redirected output.</summary>
internal sealed class PlainDownloadProgress(TextWriter output) : IProgress<DownloadProgress>
{
    private readonly Dictionary<string, long> _lastTenth = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public void Report(DownloadProgress value)
    {
        long tenth = value.TotalBytes == 0 ? 10 : value.BytesDone * 10 / value.TotalBytes;
        if (_lastTenth.TryGetValue(value.FileName, out long last) && tenth <= last) return;
        _lastTenth[value.FileName] = tenth;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{value.FileName}: {tenth * 10}% ({FormatBytes(value.BytesDone)} of {FormatBytes(value.TotalBytes)})"));
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.00} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };
}
