namespace OlmoeSharp.Server.Protocol;

/// <summary>Token counts of a request, all choices together.</summary>
internal sealed class Usage
{
    public required int PromptTokens { get; init; }
    public required int CompletionTokens { get; init; }
    public int TotalTokens => PromptTokens + CompletionTokens;
    public PromptTokensDetails? PromptTokensDetails { get; init; }
}

/// <summary>Of the prompt tokens, how many were served from a cached prefix (prefix caching) instead of recomputed.</summary>
internal sealed class PromptTokensDetails
{
    public required int CachedTokens { get; init; }
}
