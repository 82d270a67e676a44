namespace OlmoeSharp.Batching;

/// <summary>
/// How a model batches the text generation of concurrent requests (<see cref="Generation.TextGenerator"/>,
/// <see cref="Generation.ChatSession"/>, <see cref="AI.OlmoeChatClient"/>): every step runs the next token of each
/// running sequence, and a chunk of any prompt waiting, as one forward pass, so the weights are read once for all.
/// </summary>
public sealed record BatchingOptions
{
    /// <summary>Sequences generating at once (default 16); more wait their turn in a queue.</summary>
    public int MaxSequences { get; init; } = 16;

    /// <summary>Sequences that may wait for a place (default 256); one more is refused with <see cref="BatchQueueFullException"/>.</summary>
    public int MaxQueuedSequences { get; init; } = 256;

    /// <summary>
    /// Prompt tokens a step takes while other sequences decode (default 64): a long prompt then costs the decoders a
    /// few longer steps instead of one stall of seconds, while the prompt still runs near its full speed. A prompt alone
    /// runs in blocks of 256.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 64;

    /// <summary>Throws on a value out of range, naming it.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSequences, 1, nameof(MaxSequences));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxQueuedSequences, nameof(MaxQueuedSequences));
        ArgumentOutOfRangeException.ThrowIfLessThan(PrefillChunkTokens, 1, nameof(PrefillChunkTokens));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PrefillChunkTokens, Model.ForwardPass.MaxBlock, nameof(PrefillChunkTokens));
    }
}
