using Microsoft.Extensions.Hosting;

namespace OlmoeSharp.Server;

/// <summary>
/// Loads the model in the background once the server listens, so <c>/health</c> answers 503 (and completions 503
/// with <c>Retry-After</c>) while it loads and 200 after; a load that fails stops the server with the reason logged.
/// Owns the model and disposes it when the server stops.
/// </summary>
internal sealed class ModelHost(Func<CancellationToken, Task<LoadedModel>> load, ILogger<ModelHost> logger, IHostApplicationLifetime lifetime)
    : BackgroundService
{
    private volatile LoadedModel? _loaded;

    /// <summary>The model, once loaded.</summary>
    public LoadedModel? Loaded => _loaded;

    /// <summary>Why loading failed, if it did (the process then exits non-zero).</summary>
    public Exception? LoadError { get; private set; }

    /// <summary>The model, or a 503 while it loads.</summary>
    public LoadedModel Require() => _loaded
        ?? throw new ApiException(503, "the model is still loading; retry shortly.", code: "model_loading") { RetryAfterSeconds = 5 };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // Off the host's start-up path: Kestrel listens (and answers 503) while the weights load.
            var loaded = await Task.Run(() => load(stoppingToken), stoppingToken);
            _loaded = loaded;
            logger.LogInformation("serving {ModelId} ({Residency}; chat template: {Template})", loaded.Id, loaded.Model.ResidencyChoice, loaded.Model.ChatTemplate.Description);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LoadError = e;
            // A missing or malformed model is the user's to fix: its one-line message says what; anything else is a bug, with its trace.
            bool explained = e is Hub.HubException or ModelFormatException or IOException or UnauthorizedAccessException or ArgumentException;
            logger.LogCritical(explained ? null : e, "the model could not be loaded: {Message}", e.Message);
            // Stopping while the host still starts would cancel its start (an exception, not an exit code): stop once started.
            lifetime.ApplicationStarted.Register(lifetime.StopApplication);
        }
    }

    /// <summary>
    /// Loads <see cref="ServerOptions.Model"/> — or, without one, the small random model, made on first start —
    /// and names it by its folder or file name, or the repo id as given.
    /// </summary>
    public static async Task<LoadedModel> LoadAsync(ServerOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        string source = options.Model ?? RandomDefaultModel.Ensure(RandomDefaultModel.Folder, Checkpoints.RandomCheckpoint.Small);
        if (options.Model is null)
            logger.LogWarning("no --model given: serving a small model with RANDOM weights ({Folder}); its words are gibberish", source);
        // The model batches as many sequences as the server admits, so an admitted sequence never waits a second time.
        var batching = new Batching.BatchingOptions { MaxSequences = options.MaxSequences };
        var model = await OlmoeModel.LoadAsync(source, new ModelLoadOptions { Threads = options.Threads, Logger = logger, Batching = batching }, null, cancellationToken);
        try
        {
            bool local = Directory.Exists(source) || File.Exists(source);
            return new LoadedModel(model, local ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(source))) : source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public override void Dispose()
    {
        _loaded?.Model.Dispose();
        base.Dispose();
    }
}
