using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary>Writes one request's answer in its endpoint's shape: chunk by chunk when streaming, whole otherwise. One instance per request.</summary>
internal interface IAnswerWriter
{
    /// <summary>Streams what <paramref name="update"/> adds to its choice (nothing when it adds nothing).</summary>
    Task WriteChunkAsync(ServerSentEvents events, ChoiceUpdate update, CancellationToken cancellationToken);

    /// <summary>The last chunk of a stream that asked for usage: no choices, the request's usage.</summary>
    Task WriteUsageChunkAsync(ServerSentEvents events, Usage usage, CancellationToken cancellationToken);

    /// <summary>The whole answer of a non-streaming request.</summary>
    Task WriteWholeAsync(HttpResponse response, IReadOnlyList<ChoiceAccumulator> choices, Usage usage, CancellationToken cancellationToken);
}
