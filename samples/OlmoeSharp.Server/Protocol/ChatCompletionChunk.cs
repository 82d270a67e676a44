namespace OlmoeSharp.Server.Protocol;

/// <summary>One server-sent event of a streamed chat completion (<c>"object": "chat.completion.chunk"</c>).</summary>
internal sealed class ChatCompletionChunk
{
    public required string Id { get; init; }
    public string Object => "chat.completion.chunk";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required List<ChatChunkChoice> Choices { get; init; }

    /// <summary>Only on the last chunk, whose choices are empty, when <c>stream_options.include_usage</c> asked for it.</summary>
    public Usage? Usage { get; init; }
}

/// <summary>What one choice gained in a chunk.</summary>
internal sealed class ChatChunkChoice
{
    public required int Index { get; init; }
    public required ChatMessageOut Delta { get; init; }
    public ChatLogprobs? Logprobs { get; init; }

    /// <summary>Set on the choice's last chunk.</summary>
    public string? FinishReason { get; init; }
}
