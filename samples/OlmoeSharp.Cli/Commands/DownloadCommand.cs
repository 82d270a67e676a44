using System.CommandLine;
using OlmoeSharp.Hub;

namespace OlmoeSharp.Cli.Commands;

/// <summary><c>download REPO_ID [--revision REV]</c>: fetch a model into the huggingface_hub cache and print its folder.</summary>
internal static class DownloadCommand
{
    public static Command Create()
    {
        var repo = new Argument<string>("repo-id") { Description = "A Hugging Face repo id, e.g. allenai/OLMoE-1B-7B-0924-Instruct." };
        var revision = new Option<string?>("--revision") { Description = "Branch, tag or commit (default main)." };
        var command = new Command("download", "Download a model into the Hugging Face cache (resumable).") { repo, revision };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            using var hub = new HubClient();
            var progress = new Progress<DownloadProgress>(p =>
            {
                if (Console.IsErrorRedirected) return;
                string total = p.FileTotal is long t ? $"{t / 1e6:F1} MB" : "?";
                Console.Error.Write($"\r[{p.FileIndex}/{p.FileCount}] {p.File}: {p.FileBytes / 1e6:F1} / {total}      ");
            });
            string folder = await hub.ResolveAsync(parse.GetValue(repo)!, parse.GetValue(revision), progress, cancel);
            if (!Console.IsErrorRedirected) Console.Error.WriteLine();
            Console.WriteLine(folder);
            return 0;
        }));
        return command;
    }
}
