using Spectre.Console;

namespace OlmoeSharp.Cli;

/// <summary>Turns a --model argument (folder or repo id) into a loaded model, showing download and load progress.</summary>
internal static class ModelLoading
{
    public static async Task<OlmoeModel> LoadAsync(string model, int threads, bool preload, CancellationToken cancellationToken)
    {
        var options = new ModelLoadOptions
        {
            Threads = threads,
            Residency = preload ? WeightResidency.Preloaded : WeightResidency.Mapped,
        };
        if (Console.IsErrorRedirected) return await OlmoeModel.LoadAsync(model, options, null, cancellationToken);

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        OlmoeModel? loaded = null;
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var progress = new Progress<ModelLoadProgress>(p =>
                {
                    string key = p.Stage + ":" + (p.Stage == "download" ? p.File : "");
                    if (!tasks.TryGetValue(key, out var task))
                        tasks[key] = task = context.AddTask(p.Stage == "download" ? Markup.Escape(p.File ?? "") : "loading weights", maxValue: Math.Max(1, p.Total ?? 1));
                    if (p.Total is long total) task.MaxValue = Math.Max(1, total);
                    task.Value = p.Done;
                });
                loaded = await OlmoeModel.LoadAsync(model, options, progress, cancellationToken);
            });
        return loaded!;
    }
}
