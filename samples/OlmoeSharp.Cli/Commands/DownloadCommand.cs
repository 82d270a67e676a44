using System.CommandLine;

namespace OlmoeSharp.Cli.Commands;

/// <summary><c>olmoe download REPO_ID [--revision REV]</c>: fetches a model into the Hugging Face cache and prints its folder.</summary>
internal static class DownloadCommand
{
    /// <summary>Exit code after Ctrl+C, as shells report a process ended by SIGINT.</summary>
    private const int Interrupted = 130;

    public static Command Create()
    {
        var repoId = new Argument<string>("repo-id") { Description = "Hugging Face repo id, e.g. allenai/OLMoE-1B-7B-0125-Instruct." };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit to download (default: main)." };
        var command = new Command("download", "Download a model from the Hugging Face hub into the cache shared with Python's huggingface_hub, and print its folder.")
        {
            repoId,
            revision,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                string folder = await ModelLocator.DownloadAsync(parseResult.GetRequiredValue(repoId), parseResult.GetValue(revision), cancellationToken);
                Console.Out.WriteLine(folder);
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine("Cancelled; run the same command again to resume the download.");
                return Interrupted;
            }
            catch (Exception e) when (ModelLocator.IsResolveFailure(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
