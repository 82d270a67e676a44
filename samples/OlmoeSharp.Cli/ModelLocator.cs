using OlmoeSharp.Hub;

namespace OlmoeSharp.Cli;

/// <summary>
/// Turns the <c>--model</c> value of any command, a model folder or a Hugging Face repo id such as
/// <c>allenai/OLMoE-1B-7B-0924-Instruct</c>, into a local folder. Repo ids come from the cache Python's huggingface_hub
/// shares (<c>HF_HOME</c>, <c>HF_HUB_CACHE</c>, <c>HF_TOKEN</c>, <c>HF_ENDPOINT</c>, <c>HF_HUB_OFFLINE</c> apply) and
/// are downloaded into it with visible progress when missing.
/// </summary>
/// <example>
/// In a command's action:
/// <code>
/// string folder;
/// try
/// {
///     folder = await ModelLocator.ResolveAsync(parseResult.GetRequiredValue(model), parseResult.GetValue(revision), cancellationToken);
/// }
/// catch (Exception e) when (ModelLocator.IsResolveFailure(e))
/// {
///     Console.Error.WriteLine($"error: {e.Message}");
///     return 1;
/// }
/// </code>
/// </example>
internal static class ModelLocator
{
    /// <summary>
    /// The model folder for <paramref name="model"/>: the folder itself if it exists, else the cached snapshot of the
    /// repo id, downloading what is missing. Progress goes to the terminal, or as plain lines to stderr, so stdout stays clean.
    /// </summary>
    /// <param name="model">A folder or a repo id <c>org/name</c>.</param>
    /// <param name="revision">Branch, tag or commit of a repo id; <c>main</c> when null.</param>
    /// <param name="cancellationToken">Ctrl+C; a partial download is kept and resumed next time.</param>
    /// <exception cref="Exception">A failure for which <see cref="IsResolveFailure"/> is true; its message is one line for the user.</exception>
    public static Task<string> ResolveAsync(string model, string? revision, CancellationToken cancellationToken) =>
        RunAsync((resolver, progress) => resolver.ResolveAsync(model, revision, progress, cancellationToken));

    /// <summary>Brings the cached snapshot of <paramref name="repoId"/> up to date with the hub (what <c>download</c> does) and returns its folder.</summary>
    public static Task<string> DownloadAsync(string repoId, string? revision, CancellationToken cancellationToken) =>
        RunAsync((resolver, progress) => resolver.DownloadAsync(repoId, revision, progress, cancellationToken));

    /// <summary>True for the failures of <see cref="ResolveAsync"/> whose message is meant for the user rather than a stack trace.</summary>
    public static bool IsResolveFailure(Exception error) =>
        // ArgumentException: a malformed HF_* variable, reported by HubOptions.FromEnvironment.
        error is HubException or ModelFormatException or ArgumentException;

    private static async Task<string> RunAsync(Func<ModelResolver, IProgress<DownloadProgress>, Task<string>> resolve)
    {
        using var resolver = new ModelResolver(HubOptions.FromEnvironment());
        return await DownloadProgressView.ShowAsync(progress => resolve(resolver, progress));
    }
}
