namespace OlmoeSharp.Server.Protocol;

/// <summary>One server-sent event of a streamed chat completion (<c>"object": "chat.completion.chunk"</c>).</summary>
internal sealed class ChatCompletionChunk : ResponseEnvelope<ChatChunkChoice>
{
    public override string Object => "chat.completion.chunk";
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
