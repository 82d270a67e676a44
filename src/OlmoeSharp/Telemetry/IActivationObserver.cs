namespace OlmoeSharp.Telemetry;

/// <summary>
/// Sees a sequence's intermediate activations by name as the forward pass computes them (llama.cpp's named graph
/// callbacks, <c>cb(cur, "ffn_moe_out", il)</c>): for debugging a port, comparing engines layer by layer, or research
/// on the residual stream. Attach one with <see cref="InferenceSession.ActivationObserver"/>; a session without one pays
/// a null check per layer. The model computes the same values with or without an observer.
/// </summary>
/// <remarks>
/// Calls come in the order of the computation, for each block of tokens (a prompt block, or one decoded token): per
/// layer <see cref="ActivationName.AttentionNorm"/> … <see cref="ActivationName.LayerOutput"/>, then
/// <see cref="ActivationName.FinalNorm"/> for the rows whose logits are computed — on the thread that called
/// <see cref="InferenceSession.Evaluate"/> (for a session generating through a <see cref="Generation.TextGenerator"/>, on the
/// model's batch-step thread, with only this sequence's rows). An exception thrown by the observer ends that sequence's
/// call, as <see cref="IRouterObserver"/>'s does.
/// </remarks>
public interface IActivationObserver
{
    /// <summary>One intermediate; <paramref name="activation"/> views the engine's buffer and is valid only during the call.</summary>
    void OnActivation(in Activation activation);
}
