using Spectre.Console;

namespace OlmoeSharp.Cli;

/// <summary>Turns a --model argument (folder or repo id) into a loaded model, showing download and load progress.</summary>
internal static class ModelLoading
{
    /// <summary>The models the chat uses when none is named, the first of them in the Hugging Face cache: AllenAI's current release, then the first one.</summary>
    public static readonly string[] DefaultRepos = ["allenai/OLMoE-1B-7B-0125-Instruct", "allenai/OLMoE-1B-7B-0924-Instruct"];

    /// <summary>The model <c>download</c> suggests when none of <see cref="DefaultRepos"/> is in the cache.</summary>
    public static string DefaultRepo => DefaultRepos[0];

    private static readonly string SmallRandomFolder = Path.Combine("models", "olmoe-small-random");

    /// <summary>
    /// The first of <see cref="DefaultRepos"/> the Hugging Face cache has; otherwise a small random checkpoint (made
    /// once, in seconds) so the whole pipeline can be tried offline. Says which, and how to get the real one.
    /// </summary>
    public static string DefaultModel()
    {
        using var resolver = new Hub.ModelResolver(Hub.HubOptions.FromEnvironment() with { Offline = true });
        foreach (string repo in DefaultRepos)
        {
            try
            {
                string folder = resolver.ResolveAsync(repo).GetAwaiter().GetResult();
                Console.Error.WriteLine($"model {repo} (from the Hugging Face cache)");
                return folder;
            }
            catch (Hub.HubException)
            {
                // Not downloaded: try the next one, then the small random model.
            }
        }
        if (!File.Exists(Path.Combine(SmallRandomFolder, "config.json")))
        {
            Checkpoints.RandomCheckpoint.Write(SmallRandomFolder, Checkpoints.RandomCheckpoint.Small);
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Assets", "olmoe-tokenizer.json"), Path.Combine(SmallRandomFolder, "tokenizer.json"), overwrite: true);
        }
        Console.Error.WriteLine($"Neither {string.Join(" nor ", DefaultRepos)} is downloaded, so this runs a small model with RANDOM weights ({SmallRandomFolder}): expect gibberish.");
        Console.Error.WriteLine($"Get the real model (14 GB) with: olmoe download {DefaultRepo}   (or pass --model DIR)");
        return SmallRandomFolder;
    }

    public static async Task<OlmoeModel> LoadAsync(string model, int threads, WeightResidency residency, KvCachePrecision kvCache, bool measurePackedSpeed, CancellationToken cancellationToken,
        Generation.IChatTemplate? chatTemplate = null, Batching.BatchingOptions? batching = null)
    {
        var options = new ModelLoadOptions
        {
            Batching = batching ?? new Batching.BatchingOptions(),
            ChatTemplate = chatTemplate,
            Threads = threads,
            Residency = residency,
            KvCache = kvCache,
            MeasurePackedSpeed = measurePackedSpeed,
        };
        var loaded = Console.IsErrorRedirected
            ? await OlmoeModel.LoadAsync(model, options, null, cancellationToken)
            : await LoadWithProgressAsync(model, options, cancellationToken);
        Console.Error.WriteLine($"weights {loaded.ResidencyChoice}");
        return loaded;
    }

    private static async Task<OlmoeModel> LoadWithProgressAsync(string model, ModelLoadOptions options, CancellationToken cancellationToken)
    {

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
                    string key = p.Stage + ":" + (p.Stage == ModelLoadStage.Download ? p.File : "");
                    if (!tasks.TryGetValue(key, out var task))
                        tasks[key] = task = context.AddTask(p.Stage switch
                        {
                            ModelLoadStage.Download => Markup.Escape(p.File ?? ""),
                            ModelLoadStage.Packing => "packing weights",
                            ModelLoadStage.Quantizing => "quantizing weights",
                            _ => "loading weights",
                        }, maxValue: Math.Max(1, p.Total ?? 1));
                    if (p.Total is long total) task.MaxValue = Math.Max(1, total);
                    task.Value = p.Done;
                });
                loaded = await OlmoeModel.LoadAsync(model, options, progress, cancellationToken);
            });
        return loaded!;
    }
}
