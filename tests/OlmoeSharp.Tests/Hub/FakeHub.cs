using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OlmoeSharp.Tests.Hub;

/// <summary>
/// Imitates huggingface.co for the resolve endpoint: small files are answered by the hub itself with a git-sha1 ETag;
/// <c>*.safetensors</c> and <c>*.gguf</c> files are LFS files, answered with a 302 to a separate file host (another
/// listener, so another origin) carrying X-Linked-Etag (sha256) and X-Linked-Size, as the real hub does. Errors carry
/// X-Error-Code. The file list of a revision is at <c>/api/models/{org}/{name}/revision/{revision}</c>, as on the hub.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, FakeRepo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _lfs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> _faults = new(StringComparer.Ordinal);

    private const string FilesPath = "/files/";
    private readonly bool _filesOnHubHost;

    /// <param name="filesOnHubHost">Redirect LFS content to a path of the hub itself (relative Location) instead of the file host.</param>
    public FakeHub(bool filesOnHubHost = false)
    {
        _filesOnHubHost = filesOnHubHost;
        Hub = new LoopbackHttpServer(HandleHub);
        Files = new LoopbackHttpServer(HandleFiles);
    }

    /// <summary>The hub; its URL is the endpoint.</summary>
    public LoopbackHttpServer Hub { get; }

    /// <summary>The file host LFS content is redirected to.</summary>
    public LoopbackHttpServer Files { get; }

    public Uri Endpoint => Hub.BaseUri;

    /// <summary>All requests both servers received.</summary>
    public IEnumerable<RecordedRequest> AllRequests => Hub.Requests.Concat(Files.Requests);

    /// <summary>Content GETs of <paramref name="fileName"/> (on the hub for small files, on the file host for LFS files).</summary>
    public IReadOnlyList<RecordedRequest> ContentRequests(string fileName) =>
        AllRequests.Where(r => r.Method == "GET" && r.Path.EndsWith("/" + (IsLfs(fileName) ? Sha256(FindContent(fileName)) : fileName), StringComparison.Ordinal)).ToList();

    public FakeRepo AddRepo(string id, string? token = null)
    {
        var repo = new FakeRepo(id, token);
        _repos[id] = repo;
        return repo;
    }

    /// <summary>Makes the next GET of <paramref name="fileName"/>'s content misbehave.</summary>
    public void Inject(string fileName, FaultKind kind, int afterBytes = 0) =>
        _faults.GetOrAdd(fileName, _ => new()).Enqueue(new Fault(kind, afterBytes));

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        await Files.DisposeAsync();
    }

    public static bool IsLfs(string fileName) =>
        fileName.EndsWith(".safetensors", StringComparison.Ordinal) || fileName.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);

    /// <summary>Requests for the file list of <paramref name="repoId"/>.</summary>
    public IReadOnlyList<RecordedRequest> ListingRequests(string repoId) =>
        Hub.Requests.Where(r => r.Path.StartsWith($"/api/models/{repoId}/", StringComparison.Ordinal)).ToList();

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    // The ETag git gives a small file: sha1 of "blob <length>\0" followed by the content.
    public static string GitBlobSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    private byte[] FindContent(string fileName) =>
        _repos.Values.SelectMany(r => r.AllFiles).First(f => f.Key == fileName).Value;

    private Reply HandleHub(RecordedRequest request)
    {
        if (request.Path.StartsWith(FilesPath, StringComparison.Ordinal)) return HandleFiles(request);
        var segments = request.Path.TrimStart('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        // /api/models/{org}/{name}/revision/{revision}
        if (segments.Length == 6 && segments[0] == "api" && segments[1] == "models" && segments[4] == "revision")
            return Authorize(request, $"{segments[2]}/{segments[3]}", segments[5], out var listed, out string listedCommit) ?? Listing(listed!, listedCommit);
        // /{org}/{name}/resolve/{revision}/{file, perhaps in folders}
        if (segments.Length < 5 || segments[2] != "resolve") return Error(404, null, "Not found");
        if (Authorize(request, $"{segments[0]}/{segments[1]}", segments[3], out var repo, out string commit) is { } refusal) return refusal;
        string fileName = string.Join('/', segments[4..]);
        if (!repo!.Files(commit).TryGetValue(fileName, out var content)) return Error(404, "EntryNotFound", "Entry not found");

        var headers = new Dictionary<string, string> { ["X-Repo-Commit"] = commit };
        if (!IsLfs(fileName))
        {
            headers["ETag"] = $"\"{GitBlobSha1(content)}\"";
            return Serve(request, fileName, content, headers);
        }

        string sha = Sha256(content);
        _lfs[sha] = content;
        headers["X-Linked-Etag"] = $"\"{sha}\"";
        headers["X-Linked-Size"] = content.Length.ToString(CultureInfo.InvariantCulture);
        headers["ETag"] = $"\"{GitBlobSha1(Encoding.ASCII.GetBytes(sha))}\""; // the LFS pointer's id, not the content's
        headers["Location"] = _filesOnHubHost ? FilesPath + sha : new Uri(Files.BaseUri, FilesPath + sha).AbsoluteUri;
        return new Reply(302, headers, []);
    }

    // The hub's checks in its order: the repo, the token, the revision; null when all pass.
    private Reply? Authorize(RecordedRequest request, string repoId, string revision, out FakeRepo? repo, out string commit)
    {
        commit = "";
        if (!_repos.TryGetValue(repoId, out repo)) return Error(404, "RepoNotFound", "Repository not found");
        if (repo.Token is not null)
        {
            string? authorization = request.Header("Authorization");
            if (authorization is null) return Error(401, "RepoNotFound", "Repository not found");
            if (authorization != $"Bearer {repo.Token}") return Error(401, null, "Invalid credentials in Authorization header");
        }
        if (repo.ResolveCommit(revision) is not { } resolved) return Error(404, "RevisionNotFound", "Invalid rev id");
        commit = resolved;
        return null;
    }

    // What huggingface_hub's model_info reads, plus a field it ignores, as the real answer has many.
    private static Reply Listing(FakeRepo repo, string commit)
    {
        byte[] body = repo.ListingOverride ?? JsonSerializer.SerializeToUtf8Bytes(new
        {
            id = repo.Id,
            sha = commit,
            tags = new[] { "gguf" },
            siblings = repo.Files(commit).Keys.Order(StringComparer.Ordinal).Select(name => new { rfilename = name }),
        });
        return new Reply(200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, body);
    }

    private Reply HandleFiles(RecordedRequest request)
    {
        string sha = request.Path[FilesPath.Length..];
        if (!_lfs.TryGetValue(sha, out var content)) return new Reply(404, new Dictionary<string, string>(), []);
        string fileName = _repos.Values.SelectMany(r => r.AllFiles).First(f => Sha256(f.Value) == sha).Key;
        return Serve(request, fileName, content, new Dictionary<string, string> { ["ETag"] = "\"s3-style-etag\"" });
    }

    // Serves content honouring "Range: bytes=N-", unless a fault was injected for this file.
    private Reply Serve(RecordedRequest request, string fileName, byte[] content, Dictionary<string, string> headers)
    {
        if (request.Method == "HEAD") return new Reply(200, headers, []) { ContentLength = content.Length };
        var fault = _faults.TryGetValue(fileName, out var queue) && queue.TryDequeue(out var next) ? next : null;
        int start = request.Header("Range") is { } range && fault?.Kind != FaultKind.IgnoreRange
            ? int.Parse(range["bytes=".Length..].TrimEnd('-'), CultureInfo.InvariantCulture)
            : 0;
        var body = content[start..];
        if (fault?.Kind == FaultKind.Corrupt) body[body.Length / 2] ^= 0xFF;
        int status = 200;
        if (start > 0)
        {
            status = 206;
            headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        return new Reply(status, headers, body)
        {
            CutAfter = fault?.Kind is FaultKind.Cut or FaultKind.Stall ? fault.AfterBytes : null,
            StallAfterCut = fault?.Kind == FaultKind.Stall,
        };
    }

    private static Reply Error(int status, string? code, string message)
    {
        var headers = new Dictionary<string, string> { ["X-Error-Message"] = message };
        if (code is not null) headers["X-Error-Code"] = code;
        return new Reply(status, headers, Encoding.UTF8.GetBytes(message));
    }
}

/// <summary>A repo of the fake hub: branches and tags pointing to commits, each with its files.</summary>
internal sealed class FakeRepo(string id, string? token)
{
    private readonly ConcurrentDictionary<string, string> _refs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, byte[]>> _commits = new(StringComparer.Ordinal);

    public string Id { get; } = id;

    public string? Token { get; } = token;

    /// <summary>When set, the body of every file-list answer instead of the real list.</summary>
    public byte[]? ListingOverride { get; set; }

    public IEnumerable<KeyValuePair<string, byte[]>> AllFiles => _commits.Values.SelectMany(files => files);

    /// <summary>Adds a commit holding <paramref name="files"/> and points <paramref name="revision"/> at it.</summary>
    public string Commit(string revision, IReadOnlyDictionary<string, byte[]> files)
    {
        string commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{Id}@{revision}#{_commits.Count}")));
        _commits[commit] = files;
        _refs[revision] = commit;
        return commit;
    }

    public string? ResolveCommit(string revision) =>
        _commits.ContainsKey(revision) ? revision : _refs.TryGetValue(revision, out string? commit) ? commit : null;

    public IReadOnlyDictionary<string, byte[]> Files(string commit) => _commits[commit];
}
