using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Hub;

/// <summary>
/// Resolves a Hugging Face repo id to a local snapshot folder in the huggingface_hub cache layout
/// (models--org--name/{blobs, refs, snapshots/&lt;commit&gt;}), downloading only the files a model needs when they
/// are missing: config, generation config, tokenizer files, and the weights (one file, or the index and the shards it
/// names). Downloads go to blobs/&lt;etag&gt;.incomplete, resume with HTTP Range after an interruption, and large
/// files are checked against their sha256 before they enter the cache. Thread-safe for different repositories.
/// </summary>
public sealed class HubClient : IDisposable
{
    private static readonly string[] OptionalFiles = ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];
    private const int CopyBufferBytes = 1 << 20;

    private readonly HubOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client; options default to the environment (HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE).</summary>
    public HubClient(HubOptions? options = null)
    {
        _options = options ?? HubOptions.FromEnvironment();
        _ownsHttp = _options.HttpClient is null;
        // Redirects are followed by hand: the first answer carries the commit and the etag, and the token must not
        // travel to the file host.
        _http = _options.HttpClient ?? new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The snapshot folder of <paramref name="repoId"/> at <paramref name="revision"/>, downloaded if needed.</summary>
    /// <exception cref="HubException">Not found, unauthorised, offline and not cached, network or checksum failure.</exception>
    public async Task<string> ResolveAsync(string repoId, string? revision = null, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (!RepoId.TryParse(repoId, out var repo))
            throw new HubException(HubErrorKind.RepositoryNotFound, $"\"{repoId}\" is not a repository id of the form org/name.");
        revision ??= "main";
        if (revision.Length == 0 || revision.Contains("..", StringComparison.Ordinal) || revision.IndexOfAny(['\\', '\0']) >= 0 || Path.IsPathRooted(revision))
            throw new HubException(HubErrorKind.RevisionNotFound, $"{repo}: \"{revision}\" is not a valid revision.");

        string root = Path.Combine(_options.CacheDirectory, repo.CacheFolderName);
        if (CachedSnapshot(root, revision) is { } cached) return cached;
        if (_options.Offline)
            throw new HubException(HubErrorKind.NotInCache,
                $"{repo}@{revision} is not in the cache at {_options.CacheDirectory} and HF_HUB_OFFLINE is set; download it first (olmoe download {repo}).");

        var config = await FetchAsync(repo, revision, root, "config.json", required: true, (1, 1), progress, cancellationToken);
        string commit = config!.Commit;
        string snapshot = Path.Combine(root, "snapshots", commit);
        var index = await FetchAsync(repo, commit, root, SafeTensorsIndex.FileName, required: false, (2, 2), progress, cancellationToken);
        var weights = index is null
            ? [CheckpointFiles.SingleFileName]
            : ShardNames(repo, Path.Combine(snapshot, SafeTensorsIndex.FileName));
        var files = OptionalFiles.Concat(weights).ToList();
        for (int i = 0; i < files.Count; i++)
            await FetchAsync(repo, commit, root, files[i], required: !OptionalFiles.Contains(files[i]), (i + 3, files.Count + 2), progress, cancellationToken);

        if (!IsCommitHash(revision) || revision != commit) WriteRef(root, revision, commit);
        return snapshot;
    }

    private static IReadOnlyList<string> ShardNames(RepoId repo, string indexPath)
    {
        try
        {
            return SafeTensorsIndex.Load(indexPath).ShardFiles;
        }
        catch (ModelFormatException e)
        {
            throw new HubException(HubErrorKind.InvalidRepository, $"{repo}: {e.Message}", e);
        }
    }

    /// <summary>A complete snapshot for the revision, when the cache already has one.</summary>
    private static string? CachedSnapshot(string root, string revision)
    {
        string refFile = Path.Combine(root, "refs", revision);
        string commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : revision;
        if (!IsCommitHash(commit)) return null;
        string snapshot = Path.Combine(root, "snapshots", commit);
        if (!File.Exists(Path.Combine(snapshot, "config.json"))) return null;
        string index = Path.Combine(snapshot, SafeTensorsIndex.FileName);
        if (File.Exists(index))
        {
            try
            {
                return SafeTensorsIndex.Load(index).ShardFiles.All(s => File.Exists(Path.Combine(snapshot, s))) ? snapshot : null;
            }
            catch (ModelFormatException)
            {
                return null;
            }
        }
        return File.Exists(Path.Combine(snapshot, CheckpointFiles.SingleFileName)) ? snapshot : null;
    }

    private sealed record Fetched(string Commit);

    /// <summary>Makes snapshots/&lt;commit&gt;/<paramref name="file"/> exist; null when an optional file is absent from the repository.</summary>
    private async Task<Fetched?> FetchAsync(RepoId repo, string revision, string root, string file, bool required, (int Index, int Count) position,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        var url = new Uri(_options.Endpoint, $"{repo}/resolve/{Uri.EscapeDataString(revision)}/{file}");
        using var head = await SendAsync(url, repo, file, range: null, withToken: true, cancellationToken);
        if (head.StatusCode == HttpStatusCode.NotFound && !required && ErrorCode(head) is null or "EntryNotFound") return null;
        ThrowForStatus(head, repo, revision, file);

        string commit = Header(head, "X-Repo-Commit") ?? (IsCommitHash(revision) ? revision
            : throw new HubException(HubErrorKind.Network, $"{repo}: the hub did not say which commit \"{revision}\" is (no X-Repo-Commit header)."));
        if (!IsCommitHash(commit)) throw new HubException(HubErrorKind.Network, $"{repo}: the hub sent an invalid commit \"{commit}\".");
        string etag = NormalizeEtag(Header(head, "X-Linked-Etag") ?? head.Headers.ETag?.Tag)
            ?? throw new HubException(HubErrorKind.Network, $"{repo}/{file}: the hub sent no ETag.");
        long? size = long.TryParse(Header(head, "X-Linked-Size"), out long linked) ? linked : head.Content.Headers.ContentLength;

        string blobs = Path.Combine(root, "blobs");
        string blob = Path.Combine(blobs, etag);
        string snapshotFile = Path.Combine(root, "snapshots", commit, file);
        try
        {
            Directory.CreateDirectory(blobs);
            if (!File.Exists(blob))
            {
                var location = head.StatusCode is >= HttpStatusCode.MovedPermanently and <= HttpStatusCode.PermanentRedirect && head.Headers.Location is { } loc
                    ? new Uri(url, loc) : url;
                await DownloadAsync(repo, file, location, sameHost: location.Host == url.Host && location.Port == url.Port, blob, etag, size,
                    new Progress(progress, file, position), cancellationToken);
            }
            LinkIntoSnapshot(blob, snapshotFile);
        }
        catch (IOException e) when (e is not HubException)
        {
            throw new HubException(HubErrorKind.Storage, $"{repo}/{file}: could not write the cache at {root}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new HubException(HubErrorKind.Storage, $"{repo}/{file}: could not write the cache at {root}: {e.Message}", e);
        }
        return new Fetched(commit);
    }

    private async Task DownloadAsync(RepoId repo, string file, Uri location, bool sameHost, string blob, string etag, long? size,
        Progress progress, CancellationToken cancellationToken)
    {
        string partial = blob + ".incomplete";
        long existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (size is long total && existing > total) existing = 0;
        using (var response = await SendAsync(location, repo, file, existing > 0 ? existing : null, withToken: sameHost, cancellationToken))
        {
            ThrowForStatus(response, repo, null, file);
            bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
            await using var output = new FileStream(partial, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, CopyBufferBytes);
            long done = resumed ? existing : 0;
            progress.Report(done, size);
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var buffer = new byte[CopyBufferBytes];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    done += read;
                    progress.Report(done, size);
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException && e is not HubException)
            {
                throw new HubException(HubErrorKind.Network, $"{repo}/{file}: the download broke off after {done} bytes ({e.Message}); run again to resume.", e);
            }
            if (size is long expected && done != expected)
                throw new HubException(HubErrorKind.Network, $"{repo}/{file}: received {done} of {expected} bytes; run again to resume.");
        }

        // Large files are named by their sha256: check it before the file can be used.
        if (etag.Length == 64 && etag.All(char.IsAsciiHexDigitLower))
        {
            await using var check = File.OpenRead(partial);
            string actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(check, cancellationToken));
            if (actual != etag)
            {
                check.Close();
                File.Delete(partial);
                throw new HubException(HubErrorKind.ChecksumMismatch, $"{repo}/{file}: sha256 {actual} differs from the announced {etag}; the download was discarded.");
            }
        }
        File.Move(partial, blob, overwrite: true);
    }

    private async Task<HttpResponseMessage> SendAsync(Uri url, RepoId repo, string file, long? range, bool withToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (withToken && _options.Token is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (range is long from) request.Headers.Range = new RangeHeaderValue(from, null);
        request.Headers.UserAgent.ParseAdd("OlmoeSharp/0.1");
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new HubException(HubErrorKind.Network, $"{repo}/{file}: could not reach {url.Host}: {e.Message}", e);
        }
    }

    private static void ThrowForStatus(HttpResponseMessage response, RepoId repo, string? revision, string file)
    {
        int status = (int)response.StatusCode;
        if (status is >= 200 and < 400) return;
        string code = ErrorCode(response) ?? "";
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when code != "RepoNotFound" =>
                new HubException(HubErrorKind.Unauthorized, $"{repo}/{file}: access denied ({status}); set HF_TOKEN to a token with access to {repo}."),
            _ when code == "RepoNotFound" => new HubException(HubErrorKind.RepositoryNotFound, $"{repo}: repository not found (or private; set HF_TOKEN)."),
            _ when code == "RevisionNotFound" => new HubException(HubErrorKind.RevisionNotFound, $"{repo}: revision \"{revision}\" not found."),
            HttpStatusCode.NotFound => new HubException(HubErrorKind.FileNotFound, $"{repo}: {file} not found in the repository."),
            _ => new HubException(HubErrorKind.Network, $"{repo}/{file}: the hub answered {status} {response.ReasonPhrase}."),
        };
    }

    private static string? ErrorCode(HttpResponseMessage response) => Header(response, "X-Error-Code");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? contentValues.FirstOrDefault() : null;

    /// <summary>huggingface_hub strips quotes and a weak W/ prefix; the result names the blob, so it must be a plain name.</summary>
    private static string? NormalizeEtag(string? etag)
    {
        if (etag is null) return null;
        if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
        etag = etag.Trim('"');
        return etag.Length is > 0 and <= 128 && etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? etag : null;
    }

    private static bool IsCommitHash(string text) => text.Length == 40 && text.All(char.IsAsciiHexDigitLower);

    private static void WriteRef(string root, string revision, string commit)
    {
        string refFile = Path.Combine(root, "refs", revision);
        Directory.CreateDirectory(Path.GetDirectoryName(refFile)!);
        File.WriteAllText(refFile, commit);
    }

    /// <summary>A relative link snapshots/&lt;commit&gt;/file → ../../blobs/&lt;etag&gt; as huggingface_hub makes; a copy where links are impossible.</summary>
    private static void LinkIntoSnapshot(string blob, string snapshotFile)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(snapshotFile)!);
        if (File.Exists(snapshotFile)) return;
        string target = Path.GetRelativePath(Path.GetDirectoryName(snapshotFile)!, blob);
        try
        {
            File.CreateSymbolicLink(snapshotFile, target);
        }
        catch (IOException)
        {
            File.Copy(blob, snapshotFile);
        }
        catch (UnauthorizedAccessException)
        {
            File.Copy(blob, snapshotFile);
        }
    }

    /// <summary>Releases the HTTP client if this instance created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    /// <summary>Reports at most every 8 MiB (and at each file's start and end), so progress costs nothing.</summary>
    private sealed class Progress(IProgress<DownloadProgress>? sink, string file, (int Index, int Count) position)
    {
        private long _last = -1;

        public void Report(long done, long? total)
        {
            if (sink is null || (done - _last < (8 << 20) && done != total && _last >= 0)) return;
            _last = done;
            sink.Report(new DownloadProgress(file, done, total, position.Index, position.Count));
        }
    }
}
