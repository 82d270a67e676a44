namespace OlmoeSharp.Server.Protocol;

/// <summary>A whole chat completion (<c>"object": "chat.completion"</c>), the answer to a non-streaming request.</summary>
internal sealed class ChatCompletionResponse : ResponseEnvelope<ChatChoice>
{
    public override string Object => "chat.completion";
}

/// <summary>One of a chat completion's <c>n</c> answers.</summary>
internal sealed class ChatChoice
{
    public required int Index { get; init; }
    public required ChatMessageOut Message { get; init; }
    public ChatLogprobs? Logprobs { get; init; }
    public required string FinishReason { get; init; }
}

/// <summary>The assistant's message of a whole answer, or the delta of a chunk (<see cref="Role"/> only on a choice's first chunk).</summary>
internal sealed class ChatMessageOut
{
    public string? Role { get; init; }
    public string? Content { get; init; }
}
