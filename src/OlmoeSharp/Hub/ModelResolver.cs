using System.Net;

namespace OlmoeSharp.Hub;

/// <summary>
/// Turns what a user typed, a model folder or file, a Hugging Face repo id like <c>allenai/OLMoE-1B-7B-0924-Instruct</c>,
/// or a GGUF file of a repo named by its quant tag like <c>allenai/OLMoE-1B-7B-0125-Instruct-GGUF:Q4_K_M</c>, into a
/// local path holding the model. Repo ids are looked up in the huggingface_hub cache first and downloaded into it when
/// missing, so a model fetched by Python is found here and the other way round.
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
    /// Returns the local path of a model. <paramref name="modelPathOrRepoId"/> is, in this order:
    /// <list type="bullet">
    /// <item>an existing folder or file (a checkpoint folder, a <c>.gguf</c> file): returned as it is, whatever its
    /// spelling; a path wins over a repo id of the same spelling, and a colon in a path (<c>C:\models</c>) is never a tag;</item>
    /// <item><c>org/name:QUANT</c>, llama.cpp's <c>-hf</c> and Ollama's convention: the one <c>.gguf</c> file of the repo
    /// whose name carries the quant tag (case-insensitively, as a whole token: <c>Q4_K</c> does not pick
    /// <c>…-q4_k_m.gguf</c>). Only that file is downloaded (it holds the config and the tokenizer). It comes from the
    /// cached snapshot without any request when the snapshot has such a file;</item>
    /// <item><c>org/name</c>: the cached snapshot when it holds a whole safetensors checkpoint (no network), else the
    /// snapshot after downloading what is missing; or, for a repo without <c>config.json</c> that holds <c>.gguf</c>
    /// files, the file carrying the default tag <c>Q4_K_M</c>, or the repo's only GGUF model, as with a tag. For such a
    /// repo the hub is asked for its file list each time unless offline, since the cache cannot tell which file is the default.</item>
    /// </list>
    /// </summary>
    /// <param name="modelPathOrRepoId">A folder, a file, a repo id <c>org/name</c>, or <c>org/name:QUANT</c>.</param>
    /// <param name="revision">Branch, tag or commit of a repo id; <c>main</c> when null. Ignored for a path.</param>
    /// <param name="progress">Receives download progress, if any download is needed.</param>
    /// <param name="cancellationToken">Stops the download, keeping the partial file so the next call resumes it.</param>
    /// <returns>
    /// The absolute path of the model: a folder for a path that is one and for a safetensors checkpoint; the
    /// <b>path of the <c>.gguf</c> file</b> (inside the snapshot folder) for a GGUF model and for a path that is a file.
    /// </returns>
    /// <exception cref="HubException">
    /// The text is neither a path nor a repo reference; the model is not cached while offline; no GGUF file carries the
    /// tag (<see cref="HubErrorKind.EntryNotFound"/>), several do or none is the default
    /// (<see cref="HubErrorKind.Ambiguous"/>), the chosen one is split into parts (<see cref="HubErrorKind.Unsupported"/>);
    /// or the download failed. The message names the repo, and the tag and file where they are at fault.
    /// </exception>
    /// <exception cref="ModelFormatException">The repo's shard index is malformed or names an unsafe file.</exception>
    public async Task<string> ResolveAsync(string modelPathOrRepoId, string? revision = null, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelPathOrRepoId);
        if (Directory.Exists(modelPathOrRepoId) || File.Exists(modelPathOrRepoId)) return Path.GetFullPath(modelPathOrRepoId);
        var (reference, rev) = Parse(modelPathOrRepoId, revision, isPathAllowed: true);
        var cache = new RepoCache(Options.CacheDirectory, reference.Repo);
        if (Options.Offline) return FindCached(cache, reference, rev);
        string? cached = reference.QuantTag is null
            ? FindCompleteSnapshot(cache, rev)
            : FindCachedGguf(cache, reference, rev, strict: false);
        return cached ?? await DownloadCoreAsync(reference, rev, cache, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Brings the cached snapshot of <paramref name="repoId"/> up to date with the hub, as <c>huggingface-cli download</c>
    /// does: asks which commit the revision points to now, and downloads the files of that commit the cache lacks.
    /// For <c>org/name:QUANT</c>, or a repo of GGUF files only, that is the one GGUF file chosen as
    /// <see cref="ResolveAsync"/> chooses it. When offline, returns what is cached instead.
    /// </summary>
    /// <param name="repoId">A repo id <c>org/name</c>, or <c>org/name:QUANT</c>.</param>
    /// <param name="revision">Branch, tag or commit; <c>main</c> when null.</param>
    /// <param name="progress">Receives download progress, if any download is needed.</param>
    /// <param name="cancellationToken">Stops the download, keeping the partial file so the next call resumes it.</param>
    /// <returns>The absolute path of the snapshot folder, or of the <c>.gguf</c> file for a GGUF model.</returns>
    /// <exception cref="HubException">The repo id is invalid, the model is not cached while offline, no single GGUF file fits, or the download failed.</exception>
    /// <exception cref="ModelFormatException">The repo's shard index is malformed or names an unsafe file.</exception>
    public async Task<string> DownloadAsync(string repoId, string? revision = null, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        var (reference, rev) = Parse(repoId, revision, isPathAllowed: false);
        var cache = new RepoCache(Options.CacheDirectory, reference.Repo);
        return Options.Offline
            ? FindCached(cache, reference, rev)
            : await DownloadCoreAsync(reference, rev, cache, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the HttpClient the resolver created, if any.</summary>
    public void Dispose() => _ownedClient?.Dispose();

    private async Task<string> DownloadCoreAsync(RepoReference reference, string revision, RepoCache cache, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var repo = reference.Repo;
        if (reference.QuantTag is not null) return await DownloadGgufAsync(reference, revision, cache, progress, cancellationToken).ConfigureAwait(false);

        // The first answer pins the commit, and every other file is asked for at that commit, so a push to the branch
        // in the middle of a download cannot mix files of two versions in one snapshot.
        var config = await _http.TryGetMetadataAsync(repo, revision, ModelFiles.Config, cancellationToken).ConfigureAwait(false);
        if (config is null) return await DownloadGgufAsync(reference, revision, cache, progress, cancellationToken).ConfigureAwait(false);
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
        WriteRef(cache, repo, revision, commit);
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

    /// <summary>
    /// Downloads the one GGUF file that <paramref name="reference"/> names: asks the hub for the revision's commit and
    /// file list, picks the file by its tag, and fetches only it at that commit.
    /// </summary>
    private async Task<string> DownloadGgufAsync(RepoReference reference, string revision, RepoCache cache, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var repo = reference.Repo;
        var listing = await _http.GetListingAsync(repo, revision, cancellationToken).ConfigureAwait(false);
        var ggufs = listing.Files.Where(GgufFiles.IsGguf).ToList();
        // Reached without a tag only when config.json is missing: then this is no model repo of either kind.
        if (reference.QuantTag is null && ggufs.Count == 0)
        {
            throw new HubException(HubErrorKind.EntryNotFound, repo.ToString(), ModelFiles.Config,
                $"revision '{revision}' holds neither {ModelFiles.Config} (a safetensors checkpoint) nor any .gguf file.");
        }
        // Names from the network become URLs and paths of the snapshot: refuse any that could leave it.
        if (ggufs.FirstOrDefault(name => !RepoFilePath.IsSafe(name)) is { } unsafeName)
        {
            throw new HubException(HubErrorKind.InvalidResponse, repo.ToString(), unsafeName,
                "the hub's file list names this .gguf file with a path that could leave the cache folder; refusing the list.");
        }
        string fileName = GgufFiles.Pick(ggufs, repo, reference.QuantTag, "the repo");

        var metadata = await _http.GetMetadataAsync(repo, listing.Commit, fileName, cancellationToken).ConfigureAwait(false);
        if (metadata.Commit != listing.Commit)
        {
            throw new HubException(HubErrorKind.InvalidResponse, repo.ToString(), fileName,
                $"asked for commit {listing.Commit}, the hub answered for commit {metadata.Commit}.");
        }
        await _downloader.EnsureAsync(cache, repo, fileName, metadata, progress, cancellationToken).ConfigureAwait(false);
        WriteRef(cache, repo, revision, listing.Commit);
        return Path.GetFullPath(cache.SnapshotFile(listing.Commit, fileName));
    }

    private void WriteRef(RepoCache cache, RepoId repo, string revision, string commit)
    {
        try
        {
            cache.WriteRef(revision, commit);
        }
        catch (Exception e) when (StorageErrors.Translate(e, repo, null, Options.CacheDirectory) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>What the cache alone gives for <paramref name="reference"/>, as offline mode needs it: a complete safetensors snapshot, else a GGUF file.</summary>
    /// <exception cref="HubException">Nothing fitting is cached (<see cref="HubErrorKind.NotInCache"/>), or the cached GGUF files leave the choice open.</exception>
    private string FindCached(RepoCache cache, RepoReference reference, string revision)
    {
        if (reference.QuantTag is null && FindCompleteSnapshot(cache, revision) is { } snapshot) return snapshot;
        try
        {
            return FindCachedGguf(cache, reference, revision, strict: true) ?? throw NotInCache(reference, revision, null);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.EntryNotFound)
        {
            throw NotInCache(reference, revision, e);
        }
    }

    /// <summary>
    /// The cached GGUF file that <paramref name="reference"/> names in the snapshot of <paramref name="revision"/>, chosen
    /// among the snapshot's .gguf files as among the repo's; null when the snapshot holds none. When the choice fails,
    /// <paramref name="strict"/> throws its error (offline: there is nothing else to ask), else returns null so the hub decides.
    /// </summary>
    private static string? FindCachedGguf(RepoCache cache, RepoReference reference, string revision, bool strict)
    {
        if (cache.FindCommit(revision) is not { } commit) return null;
        var files = cache.SnapshotFiles(commit, GgufFiles.IsGguf);
        if (files.Count == 0) return null;
        try
        {
            return Path.GetFullPath(cache.SnapshotFile(commit, GgufFiles.Pick(files, reference.Repo, reference.QuantTag, "the cached snapshot")));
        }
        catch (HubException) when (!strict)
        {
            return null;
        }
    }

    private static string? FindCompleteSnapshot(RepoCache cache, string revision) =>
        cache.FindCommit(revision) is { } commit && ModelFiles.IsComplete(cache.SnapshotDirectory(commit))
            ? Path.GetFullPath(cache.SnapshotDirectory(commit))
            : null;

    private HubException NotInCache(RepoReference reference, string revision, HubException? choice) =>
        new(HubErrorKind.NotInCache, reference.Repo.ToString(), null,
            $"revision '{revision}' is not (completely) in the Hugging Face cache {Options.CacheDirectory}" +
            (reference.QuantTag is null ? "" : $", or holds no .gguf file with the quant tag '{reference.QuantTag}'") +
            $", and offline mode is on (HF_HUB_OFFLINE). Download it first while online with `olmoe download {reference}` or " +
            $"`huggingface-cli download {reference.Repo}{(reference.QuantTag is null ? "" : $" --include '*{reference.QuantTag}*.gguf'")}`, or unset HF_HUB_OFFLINE." +
            (choice is null ? "" : $" In the cache: {choice.Message}"),
            choice)
        {
            QuantTag = reference.QuantTag,
        };

    private static (RepoReference Reference, string Revision) Parse(string text, string? revision, bool isPathAllowed)
    {
        if (!RepoReference.TryParse(text, out var reference, out string? problem))
        {
            throw new HubException(HubErrorKind.InvalidReference, text, null, problem ?? (isPathAllowed
                ? "no such folder or file, and not a Hugging Face repo id of the form 'org/name' or 'org/name:QUANT' either."
                : "not a Hugging Face repo id of the form 'org/name' or 'org/name:QUANT'."));
        }
        string rev = revision ?? Revision.Default;
        if (!Revision.IsValid(rev))
            throw new HubException(HubErrorKind.InvalidReference, text, null, $"'{rev}' is not a valid branch, tag or commit name.");
        return (reference, rev);
    }
}
