namespace OlmoeSharp.Telemetry;

/// <summary>
/// The router's decision for one token in one MoE layer (docs/model.md steps 2.9–2.10): spans over the forward
/// pass's own buffers, valid only during <see cref="IRouterObserver.OnRouted"/>; copy what you keep.
/// </summary>
public readonly ref struct RouterDecision
{
    internal RouterDecision(int layer, int position, int token, ReadOnlySpan<int> experts, ReadOnlySpan<float> weights, ReadOnlySpan<float> probabilities)
    {
        Layer = layer;
        Position = position;
        Token = token;
        Experts = experts;
        Weights = weights;
        Probabilities = probabilities;
    }

    /// <summary>The decoder layer, 0-based.</summary>
    public int Layer { get; }

    /// <summary>The token's position in the session (its KV-cache slot; 0 for the first token after a reset).</summary>
    public int Position { get; }

    /// <summary>The token id.</summary>
    public int Token { get; }

    /// <summary>The chosen experts (num_experts_per_tok of them) in the router's order of preference: most probable first, the lower id first on ties.</summary>
    public ReadOnlySpan<int> Experts { get; }

    /// <summary>
    /// The weights the chosen experts' outputs are mixed with, in the order of <see cref="Experts"/>: their router
    /// probabilities, renormalised to sum to 1 when the config's norm_topk_prob says so (OLMoE: not).
    /// </summary>
    public ReadOnlySpan<float> Weights { get; }

    /// <summary>The router's softmax probabilities over all num_experts experts, by expert id.</summary>
    public ReadOnlySpan<float> Probabilities { get; }

    /// <summary>
    /// The entropy of the router's distribution over all experts, −Σ p ln p in nats (0 when one expert takes all,
    /// ln num_experts when uniform). Computed from <see cref="Probabilities"/> when asked for.
    /// </summary>
    public double Entropy
    {
        get
        {
            double entropy = 0;
            foreach (float p in Probabilities)
                if (p > 0) entropy -= p * Math.Log(p);
            return entropy;
        }
    }
}
