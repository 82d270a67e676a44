using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Model;

/// <summary>
/// One sequence's share of a forward block: <see cref="Count"/> consecutive tokens of the block, to take positions
/// from <see cref="Position"/> on in <see cref="Cache"/> (which holds the positions before). A block of one segment
/// is a sequence on its own; several segments are a batched step over several sequences, each attending only to its
/// own cache.
/// </summary>
/// <param name="Cache">The sequence's keys and values; the block's are added to it.</param>
/// <param name="Position">Position of the segment's first token.</param>
/// <param name="Count">Tokens of the segment (consecutive in the block, after the previous segments').</param>
/// <param name="LogitRows">Logit rows wanted: 0 (none), 1 (the last token's) or <paramref name="Count"/> (every token's).</param>
/// <param name="Observer">Sees the segment's routing decisions, or null.</param>
/// <param name="Activations">Sees the segment's named intermediates, or null.</param>
internal readonly record struct ForwardSegment(KvCache Cache, int Position, int Count, int LogitRows, IRouterObserver? Observer = null, IActivationObserver? Activations = null);
