namespace OlmoeSharp.Analysis;

/// <summary>
/// Which experts the router picks together (the OLMoE paper's co-activation, §5): per layer, for every ordered pair
/// of experts, P(b chosen | a chosen) = N(a, b) / N(a), where N(a) counts the tokens with a among their top-k and
/// N(a, b) those with both. Every pair within a token's top-k counts (not only neighbours in the router's order).
/// Low values everywhere mean the experts are not redundant: none needs a particular partner.
/// </summary>
public sealed class CoActivation
{
    private readonly long[] _chosen;   // [layer, a]
    private readonly long[] _together; // [layer, a, b], symmetric

    private CoActivation(int layers, int numExperts, long tokens, long[] chosen, long[] together)
    {
        Layers = layers;
        NumExperts = numExperts;
        Tokens = tokens;
        _chosen = chosen;
        _together = together;
    }

    /// <summary>MoE layers.</summary>
    public int Layers { get; }

    /// <summary>Experts per layer.</summary>
    public int NumExperts { get; }

    /// <summary>Tokens counted.</summary>
    public long Tokens { get; }

    /// <summary>The co-activation over all of <paramref name="routings"/> together (same shape).</summary>
    /// <exception cref="ArgumentException">No routings, or routings of different shapes.</exception>
    public static CoActivation Of(IReadOnlyList<InputRouting> routings)
    {
        var shape = InputRouting.CommonShape(routings, nameof(routings));
        int layers = shape.Layers, experts = shape.NumExperts;
        var chosen = new long[layers * experts];
        var together = new long[layers * experts * experts];
        long tokens = 0;
        foreach (var routing in routings)
        {
            tokens += routing.Length;
            for (int p = 0; p < routing.Length; p++)
                for (int l = 0; l < layers; l++)
                {
                    var picked = routing.Experts(p, l);
                    var pairs = together.AsSpan(l * experts * experts, experts * experts);
                    for (int i = 0; i < picked.Length; i++)
                    {
                        chosen[l * experts + picked[i]]++;
                        for (int j = i + 1; j < picked.Length; j++)
                        {
                            pairs[picked[i] * experts + picked[j]]++;
                            pairs[picked[j] * experts + picked[i]]++;
                        }
                    }
                }
        }
        return new CoActivation(layers, experts, tokens, chosen, together);
    }

    /// <summary>N(a): tokens that chose <paramref name="expert"/> in <paramref name="layer"/>.</summary>
    public long Chosen(int layer, int expert)
    {
        Check(layer, expert, expert);
        return _chosen[layer * NumExperts + expert];
    }

    /// <summary>N(a, b): tokens that chose both <paramref name="a"/> and <paramref name="b"/> (≠ a) in <paramref name="layer"/>; N(a, a) = N(a).</summary>
    public long Together(int layer, int a, int b)
    {
        Check(layer, a, b);
        return a == b ? _chosen[layer * NumExperts + a] : _together[(layer * NumExperts + a) * NumExperts + b];
    }

    /// <summary>
    /// P(<paramref name="b"/> chosen | <paramref name="a"/> chosen) in <paramref name="layer"/>: 1 for b = a, NaN
    /// when a was never chosen (undefined).
    /// </summary>
    public double Probability(int layer, int a, int b) => (double)Together(layer, a, b) / Chosen(layer, a);

    /// <summary>The ordered pair (a ≠ b) with the highest <see cref="Probability"/> in <paramref name="layer"/> (lowest ids on ties), or null when no expert was chosen with another.</summary>
    public (int A, int B, double Probability)? StrongestPair(int layer)
    {
        Check(layer, 0, 0);
        (int, int, double)? best = null;
        for (int a = 0; a < NumExperts; a++)
            for (int b = 0; b < NumExperts; b++)
            {
                if (a == b || Together(layer, a, b) == 0) continue;
                double p = Probability(layer, a, b);
                if (best is null || p > best.Value.Item3) best = (a, b, p);
            }
        return best;
    }

    private void Check(int layer, int a, int b)
    {
        IndexCheck.Layer(layer, Layers);
        IndexCheck.Expert(a, NumExperts, nameof(a));
        IndexCheck.Expert(b, NumExperts, nameof(b));
    }
}
