using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OlmoeSharp.Server;

/// <summary>
/// Writes a streamed answer as server-sent events: <c>data: {json}</c> and a blank line per event, flushed at
/// once, ending with <c>data: [DONE]</c>. Tells proxies not to buffer (nginx reads <c>X-Accel-Buffering</c>).
/// </summary>
internal sealed class ServerSentEvents(HttpResponse response)
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        return response.StartAsync(cancellationToken);
    }

    public async Task WriteAsync<T>(T value, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var body = response.BodyWriter;
        body.Write("data: "u8);
        using (var json = new Utf8JsonWriter(body)) JsonSerializer.Serialize(json, value, type);
        body.Write("\n\n"u8);
        await body.FlushAsync(cancellationToken);
    }

    public async Task WriteDoneAsync(CancellationToken cancellationToken)
    {
        response.BodyWriter.Write("data: [DONE]\n\n"u8);
        await response.BodyWriter.FlushAsync(cancellationToken);
    }
}
