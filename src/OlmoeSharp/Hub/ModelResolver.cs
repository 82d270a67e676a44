using System.Net;

namespace OlmoeSharp.Hub;

/// <summary>
/// Turns what a user typed, a model folder or a Hugging Face repo id like <c>allenai/OLMoE-1B-7B-0924-Instruct</c>,
/// into a local folder holding the model. Repo ids are looked up in the huggingface_hub cache first and downloaded
/// into it when missing, so a model fetched by Python is found here and the other way round.
/// </summary>
/// <remarks>Thread-safe: concurrent calls are fine, and concurrent downloads of one file wait for each other.</remarks>
public sealed class ModelResolver : IDisposable
{
    private readonly HubHttp _http;
    private readonly BlobDownloader _downloader;
    private readonly HttpClient? _ownedClient;

    /// <summary>Creates a resolver.</summary>
    /// <param name="options">Endpoint, token, cache and offline mode; <see cref="HubOptions.FromEnvironment()"/> when null.</param>
    /// <param name="httpClient">
    /// The client to send requests with, or null for one of our own. It must not follow redirects itself
    /// (<see cref="HttpClientHandler.AllowAutoRedirect"/> false): the resolver follows them so it can read the hub's
    /// headers on the redirect and keep the token away from the file host. Its <see cref="HttpClient.Timeout"/> should
    /// be infinite; <see cref="HubOptions.Timeout"/> bounds each wait instead. It is not disposed by the resolver.
    /// </param>
    public ModelResolver(HubOptions? options = null, HttpClient? httpClient = null)
    {
        Options = options ?? HubOptions.FromEnvironment();
        if (httpClient is null)
        {
            _ownedClient = new HttpClient(new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = Options.Timeout,
            })
            {
                // Multi-gigabyte shards take longer than any fixed limit; HubOptions.Timeout bounds each wait instead.
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }
        _http = new HubHttp(httpClient ?? _ownedClient!, Options);
        _downloader = new BlobDownloader(_http, Options);
    }

    /// <summary>The options in use.</summary>
    public HubOptions Options { get; }

    /// <summary>
    /// Returns the folder of a model: <paramref name="modelDirOrRepoId"/> itself when it is an existing folder (a folder
    /// wins over a repo id of the same spelling), else the cached snapshot of that repo id when it holds the whole
    /// model (no network), else the snapshot after downloading what is missing.
    /// </summary>
    /// <param name="modelDirOrRepoId">A folder, or a repo id <c>org/name</c>.</param>
    /// <param name="revision">Branch, tag or commit of a repo id; <c>main</c> when null. Ignored for a folder.</param>
    /// <param name="progress">Receives download progress, if any download is needed.</param>
    /// <param name="cancellationToken">Stops the download, keeping the partial file so the next call resumes it.</param>
    /// <returns>The absolute path of the model folder.</returns>
    /// <exception cref="HubException">The text is neither a folder nor a repo id, the model is not cached while offline, or the download failed.</exception>
    /// <exception cref="ModelFormatException">The repo's shard index is malformed or names an unsafe file.</exception>
    public async Task<string> ResolveAsync(string modelDirOrRepoId, string? revision = null, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelDirOrRepoId);
        if (Directory.Exists(modelDirOrRepoId) || File.Exists(modelDirOrRepoId)) return Path.GetFullPath(modelDirOrRepoId);
        var (repo, rev) = Parse(modelDirOrRepoId, revision, isFolderAllowed: true);
        var cache = new RepoCache(Options.CacheDirectory, repo);
        return FindCompleteSnapshot(cache, rev)
            ?? (Options.Offline ? throw NotInCache(repo, rev) : await DownloadCoreAsync(repo, rev, cache, progress, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Brings the cached snapshot of <paramref name="repoId"/> up to date with the hub, as <c>huggingface-cli download</c>
    /// does: asks which commit the revision points to now, and downloads the files of that commit the cache lacks.
    /// When offline, returns the cached snapshot instead.
    /// </summary>
    /// <param name="repoId">A repo id <c>org/name</c>.</param>
    /// <param name="revision">Branch, tag or commit; <c>main</c> when null.</param>
    /// <param name="progress">Receives download progress, if any download is needed.</param>
    /// <param name="cancellationToken">Stops the download, keeping the partial file so the next call resumes it.</param>
    /// <returns>The absolute path of the snapshot folder.</returns>
    /// <exception cref="HubException">The repo id is invalid, the model is not cached while offline, or the download failed.</exception>
    /// <exception cref="ModelFormatException">The repo's shard index is malformed or names an unsafe file.</exception>
    public async Task<string> DownloadAsync(string repoId, string? revision = null, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        var (repo, rev) = Parse(repoId, revision, isFolderAllowed: false);
        var cache = new RepoCache(Options.CacheDirectory, repo);
        return Options.Offline
            ? FindCompleteSnapshot(cache, rev) ?? throw NotInCache(repo, rev)
            : await DownloadCoreAsync(repo, rev, cache, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the HttpClient the resolver created, if any.</summary>
    public void Dispose() => _ownedClient?.Dispose();

    private async Task<string> DownloadCoreAsync(RepoId repo, string revision, RepoCache cache, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        // The first answer pins the commit, and every other file is asked for at that commit, so a push to the branch
        // in the middle of a download cannot mix files of two versions in one snapshot.
        var config = await _http.GetMetadataAsync(repo, revision, ModelFiles.Config, cancellationToken).ConfigureAwait(false);
        string commit = config.Commit;
        await _downloader.EnsureAsync(cache, repo, ModelFiles.Config, config, progress, cancellationToken).ConfigureAwait(false);
        foreach (string optional in ModelFiles.Optional) await FetchAsync(optional, required: false).ConfigureAwait(false);
        await FetchAsync(ModelFiles.Tokenizer, required: true).ConfigureAwait(false);
        if (await FetchAsync(ModelFiles.WeightsIndex, required: false).ConfigureAwait(false))
        {
            foreach (string shard in ShardIndex.ReadShardNames(cache.SnapshotFile(commit, ModelFiles.WeightsIndex)))
                await FetchAsync(shard, required: true).ConfigureAwait(false);
        }
        else
        {
            await FetchAsync(ModelFiles.SingleWeights, required: true).ConfigureAwait(false);
        }

        // Written last: if a download of a branch's new commit fails, the ref keeps pointing to the last complete snapshot.
        try
        {
            cache.WriteRef(revision, commit);
        }
        catch (Exception e) when (StorageErrors.Translate(e, repo, null, Options.CacheDirectory) is { } translated)
        {
            throw translated;
        }
        return Path.GetFullPath(cache.SnapshotDirectory(commit));

        async Task<bool> FetchAsync(string fileName, bool required)
        {
            var metadata = required
                ? await _http.GetMetadataAsync(repo, commit, fileName, cancellationToken).ConfigureAwait(false)
                : await _http.TryGetMetadataAsync(repo, commit, fileName, cancellationToken).ConfigureAwait(false);
            if (metadata is null) return false;
            await _downloader.EnsureAsync(cache, repo, fileName, metadata, progress, cancellationToken).ConfigureAwait(false);
            return true;
        }
    }

    private static string? FindCompleteSnapshot(RepoCache cache, string revision) =>
        cache.FindCommit(revision) is { } commit && ModelFiles.IsComplete(cache.SnapshotDirectory(commit))
            ? Path.GetFullPath(cache.SnapshotDirectory(commit))
            : null;

    private HubException NotInCache(RepoId repo, string revision) =>
        new(HubErrorKind.NotInCache, repo.ToString(), null,
            $"revision '{revision}' is not (completely) in the Hugging Face cache {Options.CacheDirectory}, and offline mode is on (HF_HUB_OFFLINE). " +
            $"Download it first while online with `olmoe download {repo}` or `huggingface-cli download {repo}`, or unset HF_HUB_OFFLINE.");

    private static (RepoId Repo, string Revision) Parse(string text, string? revision, bool isFolderAllowed)
    {
        if (!RepoId.TryParse(text, out var repo))
        {
            throw new HubException(HubErrorKind.InvalidReference, text, null, isFolderAllowed
                ? "no such folder, and not a Hugging Face repo id of the form 'org/name' either."
                : "not a Hugging Face repo id of the form 'org/name'.");
        }
        string rev = revision ?? Revision.Default;
        if (!Revision.IsValid(rev))
            throw new HubException(HubErrorKind.InvalidReference, text, null, $"'{rev}' is not a valid branch, tag or commit name.");
        return (repo, rev);
    }
}
