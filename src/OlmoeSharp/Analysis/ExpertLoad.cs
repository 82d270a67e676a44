namespace OlmoeSharp.Analysis;

/// <summary>
/// How the router spreads tokens over the experts of each layer: the share of all top-k assignments each expert gets
/// (the OLMoE paper's domain specialisation, §5, when computed per domain: one input file per domain), and the
/// share of tokens whose first choice it is (the paper's top-1 variant). A perfectly balanced layer gives every expert
/// 1 / num_experts of either.
/// </summary>
public sealed class ExpertLoad
{
    private readonly long[] _assignments, _firstChoices;

    private ExpertLoad(int layers, int expertsPerToken, int numExperts, long tokens, long[] assignments, long[] firstChoices)
    {
        Layers = layers;
        ExpertsPerToken = expertsPerToken;
        NumExperts = numExperts;
        Tokens = tokens;
        _assignments = assignments;
        _firstChoices = firstChoices;
    }

    /// <summary>MoE layers.</summary>
    public int Layers { get; }

    /// <summary>Experts chosen per token and layer (k).</summary>
    public int ExpertsPerToken { get; }

    /// <summary>Experts per layer.</summary>
    public int NumExperts { get; }

    /// <summary>Tokens counted.</summary>
    public long Tokens { get; }

    /// <summary>The load of one input's routing.</summary>
    public static ExpertLoad Of(InputRouting routing) => Of([routing]);

    /// <summary>The load over all of <paramref name="routings"/> together (same shape).</summary>
    /// <exception cref="ArgumentException">No routings, or routings of different shapes.</exception>
    public static ExpertLoad Of(IReadOnlyList<InputRouting> routings)
    {
        var shape = InputRouting.CommonShape(routings, nameof(routings));
        int layers = shape.Layers, experts = shape.NumExperts;
        var assignments = new long[layers * experts];
        var firstChoices = new long[layers * experts];
        long tokens = 0;
        foreach (var routing in routings)
        {
            tokens += routing.Length;
            for (int p = 0; p < routing.Length; p++)
                for (int l = 0; l < layers; l++)
                {
                    var chosen = routing.Experts(p, l);
                    firstChoices[l * experts + chosen[0]]++;
                    foreach (ushort e in chosen) assignments[l * experts + e]++;
                }
        }
        return new ExpertLoad(layers, shape.ExpertsPerToken, experts, tokens, assignments, firstChoices);
    }

    /// <summary>Tokens that chose <paramref name="expert"/> among their top-k in <paramref name="layer"/>.</summary>
    public long Assignments(int layer, int expert) => _assignments[Index(layer, expert)];

    /// <summary>Tokens whose first choice in <paramref name="layer"/> is <paramref name="expert"/>.</summary>
    public long FirstChoices(int layer, int expert) => _firstChoices[Index(layer, expert)];

    /// <summary>
    /// <see cref="Assignments"/> / (tokens × k): the expert's share of the layer's top-k assignments; the shares of a
    /// layer sum to 1. NaN when no tokens were counted.
    /// </summary>
    public double Share(int layer, int expert) => (double)Assignments(layer, expert) / (Tokens * ExpertsPerToken);

    /// <summary><see cref="FirstChoices"/> / tokens: the expert's share of first choices; the shares of a layer sum to 1.</summary>
    public double FirstChoiceShare(int layer, int expert) => (double)FirstChoices(layer, expert) / Tokens;

    private int Index(int layer, int expert) => IndexCheck.Layer(layer, Layers) * NumExperts + IndexCheck.Expert(expert, NumExperts, nameof(expert));
}
