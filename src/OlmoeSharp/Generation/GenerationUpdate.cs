namespace OlmoeSharp.Generation;

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>The model produced end-of-text, or a stop sequence appeared.</summary>
    Stop,
    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated, or the context is full.</summary>
    Length,
    /// <summary>The caller's cancellation token fired.</summary>
    Cancelled,
}

/// <summary>Token counts and speeds of one generation.</summary>
/// <param name="PromptTokens">Prompt tokens processed before the first generated one: only the new ones when a cached prefix was
/// re-used (<see cref="CachedPromptTokens"/> more were not recomputed).</param>
/// <param name="GeneratedTokens">Tokens generated.</param>
/// <param name="PromptTokensPerSecond">Prompt processing speed.</param>
/// <param name="DecodeTokensPerSecond">Generation speed after the first token.</param>
public sealed record GenerationUsage(int PromptTokens, int GeneratedTokens, double PromptTokensPerSecond, double DecodeTokensPerSecond)
{
    /// <summary>Leading prompt tokens whose KV cache was re-used from an idle session (prefix caching) instead of recomputed.</summary>
    public int CachedPromptTokens { get; init; }
}

/// <summary>
/// One step of a streamed generation: new text (possibly empty, when a token completes no character yet or may be
/// the start of a stop sequence) and the token that produced it. The last update has <see cref="FinishReason"/>
/// and <see cref="Usage"/> set.
/// </summary>
/// <param name="Text">Text that became final with this step.</param>
/// <param name="TokenId">The generated token, or null for the final update.</param>
/// <param name="FinishReason">Set on the last update only.</param>
/// <param name="Usage">Set on the last update only.</param>
public sealed record GenerationUpdate(string Text, int? TokenId, FinishReason? FinishReason = null, GenerationUsage? Usage = null)
{
    /// <summary>How probable the model found <see cref="TokenId"/>, when <see cref="GenerationOptions.LogProbs"/> is set; null otherwise and on the final update.</summary>
    public TokenLogProbabilities? LogProbabilities { get; init; }
}
