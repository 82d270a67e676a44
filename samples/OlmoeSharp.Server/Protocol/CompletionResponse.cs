namespace OlmoeSharp.Server.Protocol;

/// <summary>
/// A completion (<c>"object": "text_completion"</c>): the whole answer of a non-streaming request, or one
/// server-sent event of a streamed one (then each choice carries the text it gained).
/// </summary>
internal sealed class CompletionResponse : ResponseEnvelope<CompletionChoice>
{
    public override string Object => "text_completion";
}

/// <summary>One completion choice (index = prompt index × n + choice).</summary>
internal sealed class CompletionChoice
{
    public required int Index { get; init; }
    public required string Text { get; init; }
    public CompletionLogprobs? Logprobs { get; init; }
    public string? FinishReason { get; init; }
}

/// <summary>The legacy completions <c>logprobs</c> object: parallel arrays, one entry per generated token.</summary>
internal sealed class CompletionLogprobs
{
    public required List<string> Tokens { get; init; }
    public required List<float> TokenLogprobs { get; init; }

    /// <summary>Per token, the most probable tokens' text → log-probability (the more probable kept where two decode alike).</summary>
    public required List<Dictionary<string, float>> TopLogprobs { get; init; }

    /// <summary>Per token, where its text starts in the choice's text (counted in UTF-16 characters of the decoded tokens).</summary>
    public required List<int> TextOffset { get; init; }
}
