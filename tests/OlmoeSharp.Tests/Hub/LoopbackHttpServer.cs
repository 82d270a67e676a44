using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Globalization;
using System.Text;

namespace OlmoeSharp.Tests.Hub;

/// <summary>A request as the server received it.</summary>
internal sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out string? value) ? value : null;
}

/// <summary>
/// What the server sends back. <see cref="CutAfter"/> sends that many body bytes and then closes the connection
/// (or, with <see cref="StallAfterCut"/>, keeps it open sending nothing) to imitate a network failure.
/// </summary>
internal sealed record Reply(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public int? CutAfter { get; init; }

    public bool StallAfterCut { get; init; }

    /// <summary>The Content-Length to announce; the full body's length unless set (a HEAD announces the file it describes).</summary>
    public long? ContentLength { get; init; }
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 and an ephemeral port, one request per connection. Raw sockets rather than
/// HttpListener, because the tests need to cut or stall a response in the middle of its body.
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private const int MaxHeaderBytes = 64 * 1024;
    private static readonly TimeSpan MaxStall = TimeSpan.FromSeconds(10);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Func<RecordedRequest, Reply> _handler;
    private readonly Task _acceptLoop;

    public LoopbackHttpServer(Func<RecordedRequest, Reply> handler)
    {
        _handler = handler;
        _listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = AcceptLoopAsync();
    }

    public Uri BaseUri { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll([_acceptLoop, .. _connections]).WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _connections.Add(ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream);
                if (request is null) return;
                Requests.Enqueue(request);
                await WriteReplyAsync(stream, request, _handler(request));
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the server is stopping.
            }
        }
    }

    private async Task<RecordedRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new byte[MaxHeaderBytes];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(length), _stop.Token);
            if (read == 0) return null;
            length += read;
            string text = Encoding.ASCII.GetString(buffer, 0, length);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) continue;
            var lines = text[..end].Split("\r\n");
            var parts = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string line in lines.Skip(1))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
            return new RecordedRequest(parts[0], parts[1], headers);
        }
        return null;
    }

    private async Task WriteReplyAsync(NetworkStream stream, RecordedRequest request, Reply reply)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {reply.Status} {ReasonPhrase(reply.Status)}\r\n");
        foreach (var (name, value) in reply.Headers) head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {reply.ContentLength ?? reply.Body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
        if (request.Method == "HEAD") return;

        int sent = Math.Min(reply.CutAfter ?? reply.Body.Length, reply.Body.Length);
        await stream.WriteAsync(reply.Body.AsMemory(0, sent), _stop.Token);
        await stream.FlushAsync(_stop.Token);
        if (reply.StallAfterCut) await Task.Delay(MaxStall, _stop.Token);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Status",
    };
}
