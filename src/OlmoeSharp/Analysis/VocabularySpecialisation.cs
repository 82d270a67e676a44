namespace OlmoeSharp.Analysis;

/// <summary>
/// How much each token id sticks to one expert (the OLMoE paper's vocabulary specialisation, §5): per layer, for
/// every token id x, the share of its occurrences whose first choice (top-1) is its most frequent first-choice
/// expert, N(x, E*) / N(x), averaged over the token ids — and, per expert, the tokens routed to it most often.
/// </summary>
/// <remarks>
/// <para>
/// Weighting: <see cref="Specialisation"/> gives every distinct token id the same weight, as the paper's figures do
/// (its analysis script averages the per-id ratios with <c>np.mean</c> over the ids seen): the question is how
/// specialised the <em>vocabulary</em> is, and frequent tokens would otherwise drown the rest. A token id seen once
/// scores 1 whatever the router does, so on short texts the average is biased upwards: raise
/// <c>minOccurrences</c> to count only ids seen that often. <see cref="OccurrenceWeighted"/> is the same ratio
/// weighted by occurrences — Σ N(x, E*) / Σ N(x), the share of all tokens that went to their id's favourite expert —
/// which frequent tokens dominate instead.
/// </para>
/// <para>Chance level: with routing independent of the token, an id seen n times scores about the largest of n
/// draws' shares among num_experts experts — well above 1 / num_experts for small n.</para>
/// </remarks>
public sealed class VocabularySpecialisation
{
    private readonly double[] _specialisation, _weighted;
    private readonly int[] _tokenIds;
    private readonly ExpertToken[][] _topTokens; // [layer * experts + expert]

    private VocabularySpecialisation(int layers, int numExperts, int minOccurrences, double[] specialisation, double[] weighted, int[] tokenIds, ExpertToken[][] topTokens)
    {
        Layers = layers;
        NumExperts = numExperts;
        MinOccurrences = minOccurrences;
        _specialisation = specialisation;
        _weighted = weighted;
        _tokenIds = tokenIds;
        _topTokens = topTokens;
    }

    /// <summary>MoE layers.</summary>
    public int Layers { get; }

    /// <summary>Experts per layer.</summary>
    public int NumExperts { get; }

    /// <summary>Token ids seen fewer times than this are left out of the averages (not of <see cref="TopTokens"/>).</summary>
    public int MinOccurrences { get; }

    /// <summary>
    /// Computes the specialisation over all of <paramref name="routings"/> together (same shape).
    /// </summary>
    /// <param name="routings">The routings.</param>
    /// <param name="minOccurrences">Token ids seen fewer times are left out of the averages; 1 (every id) is the paper's choice.</param>
    /// <param name="topTokens">Tokens to keep per expert and layer in <see cref="TopTokens"/>.</param>
    /// <exception cref="ArgumentException">No routings, routings of different shapes, or a count below its minimum.</exception>
    public static VocabularySpecialisation Of(IReadOnlyList<InputRouting> routings, int minOccurrences = 1, int topTokens = 10)
    {
        var shape = InputRouting.CommonShape(routings, nameof(routings));
        ArgumentOutOfRangeException.ThrowIfLessThan(minOccurrences, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(topTokens);
        int layers = shape.Layers, experts = shape.NumExperts;
        var specialisation = new double[layers];
        var weighted = new double[layers];
        var tokenIds = new int[layers];
        var top = new ExpertToken[layers * experts][];
        for (int l = 0; l < layers; l++)
        {
            // token id → how often each expert was its first choice
            var counts = new Dictionary<int, int[]>();
            foreach (var routing in routings)
                for (int p = 0; p < routing.Length; p++)
                {
                    int token = routing.Tokens[p];
                    if (!counts.TryGetValue(token, out var perExpert)) counts[token] = perExpert = new int[experts];
                    perExpert[routing.Experts(p, l)[0]]++;
                }

            double ratioSum = 0;
            long favourite = 0, occurrences = 0;
            var perExpertTokens = new List<ExpertToken>[experts];
            for (int e = 0; e < experts; e++) perExpertTokens[e] = [];
            foreach (var (token, perExpert) in counts)
            {
                int n = 0, max = 0;
                foreach (int count in perExpert)
                {
                    n += count;
                    max = Math.Max(max, count);
                }
                for (int e = 0; e < experts; e++)
                    if (perExpert[e] > 0) perExpertTokens[e].Add(new ExpertToken(token, perExpert[e], n));
                if (n < minOccurrences) continue;
                ratioSum += (double)max / n;
                tokenIds[l]++;
                favourite += max;
                occurrences += n;
            }
            specialisation[l] = ratioSum / tokenIds[l];
            weighted[l] = (double)favourite / occurrences;
            for (int e = 0; e < experts; e++)
                top[l * experts + e] = [.. perExpertTokens[e]
                    .OrderByDescending(t => t.Count).ThenByDescending(t => t.Share).ThenBy(t => t.Token).Take(topTokens)];
        }
        return new VocabularySpecialisation(layers, experts, minOccurrences, specialisation, weighted, tokenIds, top);
    }

    /// <summary>
    /// The mean over token ids (seen at least <see cref="MinOccurrences"/> times) of the share of their occurrences
    /// routed first to their most frequent expert: 1 when every id always goes to one expert. NaN when no id counts.
    /// </summary>
    public double Specialisation(int layer) => _specialisation[CheckLayer(layer)];

    /// <summary>The same ratio weighted by occurrences: the share of all counted tokens routed first to their id's most frequent expert.</summary>
    public double OccurrenceWeighted(int layer) => _weighted[CheckLayer(layer)];

    /// <summary>Distinct token ids in the averages of <paramref name="layer"/> (the same for every layer).</summary>
    public int TokenIds(int layer) => _tokenIds[CheckLayer(layer)];

    /// <summary>
    /// The tokens most often routed first to <paramref name="expert"/> in <paramref name="layer"/>: by count, then by
    /// the share of the token that goes there, then by id.
    /// </summary>
    public IReadOnlyList<ExpertToken> TopTokens(int layer, int expert)
    {
        return _topTokens[CheckLayer(layer) * NumExperts + IndexCheck.Expert(expert, NumExperts, nameof(expert))];
    }

    private int CheckLayer(int layer) => IndexCheck.Layer(layer, Layers);
}
