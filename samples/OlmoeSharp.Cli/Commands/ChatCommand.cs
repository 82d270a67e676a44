using System.CommandLine;
using OlmoeSharp.Generation;
using Spectre.Console;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>chat [--model DIR|REPO_ID] [--system TEXT] [sampling options]</c>: an interactive chat in the Instruct format.
/// Reads one message per line from standard input (a terminal or a pipe), streams each answer, shows its speed,
/// and ends at end of input or on /exit. The KV cache is kept between turns. The chat format is the model's
/// (<see cref="OlmoeModel.ChatTemplate"/>), or Tulu with <c>--template tulu</c>; one line on stderr says which.
/// </summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model")
        {
            Description = $"Model folder or Hugging Face repo id (default: {string.Join(", else ", ModelLoading.DefaultRepos)} if downloaded, else a small random model).",
        };
        var system = new Option<string?>("--system") { Description = "A system message that opens the conversation." };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var template = CommonOptions.Template();
        var sampling = new SamplingOptions();
        var command = new Command("chat", "Chat with an instruct model.") { model, system, threads, weights, kvCache, noProbe, template };
        sampling.AddTo(command);
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            var options = sampling.Read(parse);
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model) ?? ModelLoading.DefaultModel(), parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel,
                CommonOptions.ParseTemplate(parse.GetValue(template)!));
            if (loaded.ChatTemplate.Status != ChatTemplateStatus.Unsupported) Console.Error.WriteLine(loaded.ChatTemplate.Description);
            var session = new ChatSession(new TextGenerator(loaded), systemPrompt: parse.GetValue(system));
            bool interactive = !Console.IsInputRedirected;
            if (interactive) AnsiConsole.MarkupLine("[grey]Type a message; /exit or Ctrl-D ends the chat.[/]");
            while (!cancel.IsCancellationRequested)
            {
                if (interactive) AnsiConsole.Markup("[bold green]you>[/] ");
                string? line = Console.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim().Length == 0) continue;
                if (interactive) AnsiConsole.Markup("[bold blue]olmoe>[/] ");
                GenerationUsage? usage = null;
                await foreach (var update in session.SendAsync(line, options, cancel))
                {
                    Console.Write(update.Text);
                    usage = update.Usage ?? usage;
                }
                Console.WriteLine();
                if (usage is not null)
                    Console.Error.WriteLine($"[{usage.GeneratedTokens} tokens, {usage.DecodeTokensPerSecond:F2} tok/s; prompt {usage.PromptTokens} new tokens at {usage.PromptTokensPerSecond:F1} tok/s]");
            }
            return 0;
        }));
        return command;
    }
}
