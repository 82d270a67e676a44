using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace OlmoeSharp.Tests.Hub;

/// <summary>
/// A local stand-in for the Hugging Face hub on 127.0.0.1: /{repo}/resolve/{revision}/{file} answers like the hub
/// (302 to a separate file host for weights with X-Repo-Commit, X-Linked-Etag = sha256 and X-Linked-Size; 200 with a
/// git-style ETag for small files; 401 for private repos; 404 with X-Error-Code), and the file host serves ranges.
/// Faults can be injected: cut a body after N bytes once, or corrupt a byte.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public sealed record Repo(string Commit, Dictionary<string, byte[]> Files, string? Token = null, Dictionary<string, string>? Revisions = null);

    private readonly HttpListener _hub = new();
    private readonly HttpListener _files = new();
    private readonly CancellationTokenSource _stop = new();

    public FakeHub()
    {
        HubUri = Start(_hub, HandleHub);
        FileHostUri = Start(_files, HandleFile);
    }

    public Uri HubUri { get; }

    public Uri FileHostUri { get; }

    public ConcurrentDictionary<string, Repo> Repos { get; } = new();

    /// <summary>Every request: (path, Range header, Authorization header).</summary>
    public ConcurrentQueue<(string Path, string? Range, string? Authorization)> Requests { get; } = new();

    /// <summary>Cut the next body of a file whose name ends so after this many bytes.</summary>
    public (string Suffix, int Bytes)? CutOnce { get; set; }

    /// <summary>Serve files whose name ends so with one byte flipped.</summary>
    public string? CorruptSuffix { get; set; }

    private readonly ConcurrentDictionary<string, (string Repo, string File)> _blobs = new();

    private Uri Start(HttpListener listener, Func<HttpListenerContext, Task> handler)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                continue;
            }
            _ = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    HttpListenerContext context;
                    try { context = await listener.GetContextAsync(); }
                    catch (Exception) { return; }
                    _ = Task.Run(async () =>
                    {
                        try { await handler(context); }
                        catch (Exception) { /* a cut connection */ }
                        finally { try { context.Response.Close(); } catch (Exception) { } }
                    });
                }
            });
            return new Uri($"http://127.0.0.1:{port}/");
        }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private static string GitSha(byte[] data) => Convert.ToHexStringLower(SHA1.HashData(data));

    private async Task HandleHub(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        Requests.Enqueue((request.Url!.AbsolutePath, request.Headers["Range"], request.Headers["Authorization"]));
        // /{org}/{name}/resolve/{revision}/{file}
        var parts = request.Url.AbsolutePath.TrimStart('/').Split('/', 5);
        if (parts.Length < 5 || parts[2] != "resolve") { response.StatusCode = 400; return; }
        string repoId = parts[0] + "/" + parts[1], revision = Uri.UnescapeDataString(parts[3]), file = parts[4];
        if (!Repos.TryGetValue(repoId, out var repo) || (repo.Token is not null && request.Headers["Authorization"] is null))
        {
            response.StatusCode = repo is null ? 404 : 401;
            response.Headers["X-Error-Code"] = "RepoNotFound";
            return;
        }
        if (repo.Token is not null && request.Headers["Authorization"] != "Bearer " + repo.Token)
        {
            response.StatusCode = 401;
            return;
        }
        string? commit = revision is "main" ? repo.Commit
            : repo.Revisions?.GetValueOrDefault(revision)
            ?? (revision == repo.Commit || repo.Revisions?.ContainsValue(revision) == true ? revision : null);
        if (commit is null)
        {
            response.StatusCode = 404;
            response.Headers["X-Error-Code"] = "RevisionNotFound";
            return;
        }
        if (!repo.Files.TryGetValue(file, out var content))
        {
            response.StatusCode = 404;
            response.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }
        response.Headers["X-Repo-Commit"] = commit;
        if (file.EndsWith(".safetensors", StringComparison.Ordinal))
        {
            string sha = Sha256(content);
            _blobs[sha] = (repoId, file);
            response.StatusCode = 302;
            response.Headers["Location"] = new Uri(FileHostUri, "blob/" + sha).ToString();
            response.Headers["X-Linked-Etag"] = "\"" + sha + "\"";
            response.Headers["X-Linked-Size"] = content.Length.ToString();
            return;
        }
        response.Headers["ETag"] = "\"" + GitSha(content) + "\"";
        await Serve(response, file, content, request.Headers["Range"]);
    }

    private async Task HandleFile(HttpListenerContext context)
    {
        Requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.Headers["Range"], context.Request.Headers["Authorization"]));
        string sha = context.Request.Url.AbsolutePath.Split('/').Last();
        if (!_blobs.TryGetValue(sha, out var where)) { context.Response.StatusCode = 404; return; }
        await Serve(context.Response, where.File, Repos[where.Repo].Files[where.File], context.Request.Headers["Range"]);
    }

    private async Task Serve(HttpListenerResponse response, string file, byte[] content, string? range)
    {
        long from = 0;
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && long.TryParse(range[6..].TrimEnd('-'), out long start))
        {
            from = start;
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }
        var body = content.AsSpan((int)from).ToArray();
        if (CorruptSuffix is { } corrupt && file.EndsWith(corrupt, StringComparison.Ordinal) && body.Length > 100) body[body.Length / 2] ^= 0xFF;
        response.ContentLength64 = body.Length;
        if (CutOnce is { } cut && file.EndsWith(cut.Suffix, StringComparison.Ordinal))
        {
            CutOnce = null;
            await response.OutputStream.WriteAsync(body.AsMemory(0, Math.Min(cut.Bytes, body.Length)));
            await response.OutputStream.FlushAsync();
            response.Abort();
            return;
        }
        await response.OutputStream.WriteAsync(body);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _hub.Close();
        _files.Close();
    }
}
