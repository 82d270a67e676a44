namespace OlmoeSharp.Server.Protocol;

/// <summary>A chat choice's <c>logprobs</c>: one entry per generated token.</summary>
internal sealed class ChatLogprobs
{
    public required List<ChatTokenLogprob> Content { get; init; }
}

/// <summary>A generated token: its text, log-probability and UTF-8 bytes (which may split a character), and the alternatives.</summary>
internal sealed class ChatTokenLogprob
{
    public required string Token { get; init; }
    public required float Logprob { get; init; }
    public required int[] Bytes { get; init; }
    public List<ChatTopLogprob>? TopLogprobs { get; init; }
}

/// <summary>One of the most probable tokens at a step.</summary>
internal sealed class ChatTopLogprob
{
    public required string Token { get; init; }
    public required float Logprob { get; init; }
    public required int[] Bytes { get; init; }
}
