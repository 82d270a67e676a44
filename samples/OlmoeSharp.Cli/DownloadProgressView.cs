using OlmoeSharp.Hub;
using Spectre.Console;

namespace OlmoeSharp.Cli;

/// <summary>
/// Shows download progress while some work runs: live bars with bytes, speed and time left when stdout is a terminal,
/// plain lines on stderr otherwise, so logs stay readable and piped stdout carries only the command's output.
/// </summary>
internal static class DownloadProgressView
{
    /// <summary>Runs <paramref name="work"/>, showing the progress it reports.</summary>
    public static async Task<T> ShowAsync<T>(Func<IProgress<DownloadProgress>, Task<T>> work)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
            return await work(new PlainDownloadProgress(Console.Error));
        return await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(context => work(new LiveDownloadProgress(context)));
    }
}
