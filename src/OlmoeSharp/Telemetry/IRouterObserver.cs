namespace OlmoeSharp.Telemetry;

/// <summary>
/// Sees every routing decision a session's forward pass makes: per MoE layer and token, the experts the router chose
/// and the weights their outputs were mixed with — the very buffers the experts then read, not a recomputation.
/// Attach one with <see cref="InferenceSession.RouterObserver"/> (or <see cref="Scoring.Scorer.RouterObserver"/>,
/// <see cref="Generation.TextGenerator.RouterObserver"/>);
/// a session without one pays nothing (a null check per layer and block).
/// </summary>
/// <remarks>
/// Calls come on the thread that called <see cref="InferenceSession.Evaluate"/> (for a session generating through a
/// <see cref="Generation.TextGenerator"/>, on the model's batch-step thread), in the order of the computation: for
/// each block of a prompt (up to 256 tokens), layer 0 for every token of the block, then layer 1, …; one token at a
/// time when decoding. A block that is cancelled midway is recomputed when evaluated again, so its decisions can be
/// reported twice. An exception thrown by the observer ends the <see cref="InferenceSession.Evaluate"/> call (the
/// session's position does not advance past the block).
/// </remarks>
public interface IRouterObserver
{
    /// <summary>One token's routing in one layer. The spans in <paramref name="decision"/> are valid only during the call.</summary>
    void OnRouted(in RouterDecision decision);
}
