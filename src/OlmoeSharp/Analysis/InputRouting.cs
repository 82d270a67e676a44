namespace OlmoeSharp.Analysis;

/// <summary>
/// The routing of one input text: for every position and MoE layer, the experts the router chose (in its order of
/// preference) and the weights their outputs were mixed with. Made by <see cref="RoutingRecorder"/>, read back by
/// <see cref="RoutingJsonl"/>, or built by hand; the analyses (<see cref="ExpertLoad"/>, <see cref="CoActivation"/>,
/// <see cref="VocabularySpecialisation"/>, <see cref="RouterSaturation"/>) read it.
/// </summary>
/// <remarks>
/// Stored compactly: expert ids as 16-bit values and weights as float32, position-major (position, then layer, then
/// rank) — 6 bytes per chosen expert, 768 bytes per token on OLMoE-1B-7B (16 layers × 8 experts).
/// </remarks>
public sealed class InputRouting
{
    private readonly int[] _tokens;
    private readonly ushort[] _experts;
    private readonly float[] _weights;

    /// <summary>Wraps a routing; the arrays are kept, not copied.</summary>
    /// <param name="name">What the input is called in reports (a file name, a domain).</param>
    /// <param name="tokens">The token at each position.</param>
    /// <param name="layers">MoE layers per token.</param>
    /// <param name="expertsPerToken">Experts chosen per token and layer (num_experts_per_tok).</param>
    /// <param name="numExperts">Experts per layer (num_experts); every id must be below it.</param>
    /// <param name="experts">tokens × layers × expertsPerToken ids, in the router's order within each (position, layer), no id twice.</param>
    /// <param name="weights">The mixing weight of each entry of <paramref name="experts"/>.</param>
    /// <exception cref="ArgumentException">A shape that does not add up, an expert id out of range or repeated within a decision.</exception>
    public InputRouting(string name, int[] tokens, int layers, int expertsPerToken, int numExperts, ushort[] experts, float[] weights)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(experts);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numExperts, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(numExperts, ushort.MaxValue);
        if (expertsPerToken < 1 || expertsPerToken > numExperts)
            throw new ArgumentOutOfRangeException(nameof(expertsPerToken), $"experts per token must be 1 to {numExperts}; it is {expertsPerToken}.");
        long entries = (long)tokens.Length * layers * expertsPerToken;
        if (experts.Length != entries)
            throw new ArgumentException($"{name}: {tokens.Length} tokens × {layers} layers × {expertsPerToken} experts need {entries} expert ids; got {experts.Length}.", nameof(experts));
        if (weights.Length != entries)
            throw new ArgumentException($"{name}: {entries} expert ids need as many weights; got {weights.Length}.", nameof(weights));
        for (int d = 0; d < experts.Length; d += expertsPerToken)
        {
            var decision = experts.AsSpan(d, expertsPerToken);
            for (int i = 0; i < decision.Length; i++)
            {
                if (decision[i] >= numExperts)
                    throw new ArgumentException($"{name}: expert {decision[i]} at position {d / expertsPerToken / layers}, layer {d / expertsPerToken % layers} is not below num_experts = {numExperts}.", nameof(experts));
                if (decision[..i].Contains(decision[i]))
                    throw new ArgumentException($"{name}: expert {decision[i]} is chosen twice at position {d / expertsPerToken / layers}, layer {d / expertsPerToken % layers}.", nameof(experts));
            }
        }
        Name = name;
        _tokens = tokens;
        Layers = layers;
        ExpertsPerToken = expertsPerToken;
        NumExperts = numExperts;
        _experts = experts;
        _weights = weights;
    }

    /// <summary>What the input is called in reports.</summary>
    public string Name { get; }

    /// <summary>The token at each position.</summary>
    public ReadOnlySpan<int> Tokens => _tokens;

    /// <summary>Positions (tokens) routed.</summary>
    public int Length => _tokens.Length;

    /// <summary>MoE layers per token.</summary>
    public int Layers { get; }

    /// <summary>Experts chosen per token and layer.</summary>
    public int ExpertsPerToken { get; }

    /// <summary>Experts per layer.</summary>
    public int NumExperts { get; }

    /// <summary>The experts chosen for the token at <paramref name="position"/> in <paramref name="layer"/>, most preferred first.</summary>
    public ReadOnlySpan<ushort> Experts(int position, int layer) => _experts.AsSpan(Offset(position, layer), ExpertsPerToken);

    /// <summary>The weights of <see cref="Experts"/>, in the same order.</summary>
    public ReadOnlySpan<float> Weights(int position, int layer) => _weights.AsSpan(Offset(position, layer), ExpertsPerToken);

    /// <summary>True when <paramref name="other"/> has the same layers, experts per token and number of experts.</summary>
    public bool HasShapeOf(InputRouting other) =>
        Layers == other.Layers && ExpertsPerToken == other.ExpertsPerToken && NumExperts == other.NumExperts;

    /// <summary>The first of <paramref name="routings"/>, after checking there is one and that all share its shape.</summary>
    internal static InputRouting CommonShape(IReadOnlyList<InputRouting> routings, string paramName)
    {
        ArgumentNullException.ThrowIfNull(routings, paramName);
        if (routings.Count == 0) throw new ArgumentException("no routings given.", paramName);
        var first = routings[0] ?? throw new ArgumentException("a routing is null.", paramName);
        foreach (var r in routings)
            if (r is null || !r.HasShapeOf(first))
                throw new ArgumentException($"{r?.Name ?? "a routing"} does not have the shape of {first.Name} ({first.Layers} layers, {first.ExpertsPerToken} of {first.NumExperts} experts).", paramName);
        return first;
    }

    private int Offset(int position, int layer)
    {
        if ((uint)position >= (uint)_tokens.Length)
            throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is outside the {_tokens.Length} routed.");
        return (position * Layers + IndexCheck.Layer(layer, Layers)) * ExpertsPerToken;
    }
}
