namespace OlmoeSharp.Analysis;

/// <summary>
/// How far one checkpoint's routing already agrees with another's on the same tokens (the OLMoE paper's router
/// saturation, §5, which compares intermediate checkpoints with the final one): per layer, the mean over tokens of
/// |E_final ∩ E_other| / k — the share of the final checkpoint's top-k experts that the other also picks — and the
/// share of tokens whose first choice is the same. 1 means identical routing; independent random routing gives
/// about k / num_experts and 1 / num_experts.
/// </summary>
public sealed class RouterSaturation
{
    private readonly double[] _topK, _topOne;

    private RouterSaturation(int layers, long tokens, double[] topK, double[] topOne)
    {
        Layers = layers;
        Tokens = tokens;
        _topK = topK;
        _topOne = topOne;
    }

    /// <summary>MoE layers.</summary>
    public int Layers { get; }

    /// <summary>Tokens compared.</summary>
    public long Tokens { get; }

    /// <summary>
    /// Compares the routings of the same inputs under two checkpoints of the same shape: <paramref name="final"/>[i]
    /// and <paramref name="other"/>[i] must hold the same tokens.
    /// </summary>
    /// <exception cref="ArgumentException">No routings, different numbers of inputs, shapes or tokens.</exception>
    public static RouterSaturation Compare(IReadOnlyList<InputRouting> final, IReadOnlyList<InputRouting> other)
    {
        var shape = InputRouting.CommonShape(final, nameof(final));
        var otherShape = InputRouting.CommonShape(other, nameof(other));
        if (!shape.HasShapeOf(otherShape))
            throw new ArgumentException($"the routings compared have different shapes: {shape.Layers} layers, {shape.ExpertsPerToken} of {shape.NumExperts} experts against {otherShape.Layers}, {otherShape.ExpertsPerToken} of {otherShape.NumExperts}.", nameof(other));
        if (final.Count != other.Count)
            throw new ArgumentException($"{final.Count} inputs against {other.Count}: saturation compares the same inputs.", nameof(other));
        int layers = shape.Layers, k = shape.ExpertsPerToken;
        var shared = new long[layers];
        var sameFirst = new long[layers];
        long tokens = 0;
        for (int i = 0; i < final.Count; i++)
        {
            var a = final[i];
            var b = other[i];
            if (!a.Tokens.SequenceEqual(b.Tokens))
                throw new ArgumentException($"input {i} ({a.Name}) holds other tokens under the two checkpoints: saturation compares the same tokens.", nameof(other));
            tokens += a.Length;
            for (int p = 0; p < a.Length; p++)
                for (int l = 0; l < layers; l++)
                {
                    ReadOnlySpan<ushort> x = a.Experts(p, l), y = b.Experts(p, l);
                    if (x[0] == y[0]) sameFirst[l]++;
                    foreach (ushort e in x)
                        if (y.Contains(e)) shared[l]++;
                }
        }
        var topK = new double[layers];
        var topOne = new double[layers];
        for (int l = 0; l < layers; l++)
        {
            topK[l] = (double)shared[l] / (tokens * k);
            topOne[l] = (double)sameFirst[l] / tokens;
        }
        return new RouterSaturation(layers, tokens, topK, topOne);
    }

    /// <summary>The mean share of the final checkpoint's top-k experts in <paramref name="layer"/> that the other also picks.</summary>
    public double TopK(int layer) => _topK[CheckLayer(layer)];

    /// <summary>The share of tokens whose first choice in <paramref name="layer"/> is the same under both checkpoints.</summary>
    public double TopOne(int layer) => _topOne[CheckLayer(layer)];

    private int CheckLayer(int layer) => IndexCheck.Layer(layer, Layers);
}
