using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>One expert's SwiGLU MLP: down(silu(gate·x) ⊙ up·x).</summary>
/// <param name="Gate">[I, d]</param>
/// <param name="Up">[I, d]</param>
/// <param name="Down">[d, I]</param>
internal readonly record struct ExpertWeights(WeightMatrix Gate, WeightMatrix Up, WeightMatrix Down);

/// <summary>The weights of one decoder layer. Matrices are views into the mapped files; norms are small float copies.</summary>
internal sealed class LayerWeights
{
    public required float[] InputNorm { get; init; }          // [d]
    public required WeightMatrix Q { get; init; }             // [heads·hd, d]
    public required WeightMatrix K { get; init; }             // [kvHeads·hd, d]
    public required WeightMatrix V { get; init; }             // [kvHeads·hd, d]
    public required WeightMatrix O { get; init; }             // [d, heads·hd]
    public required float[] QNorm { get; init; }              // [heads·hd], over the whole projection
    public required float[] KNorm { get; init; }              // [kvHeads·hd]
    public required float[] PostAttentionNorm { get; init; }  // [d]
    public required WeightMatrix Router { get; init; }        // [E, d]
    public required ExpertWeights[] Experts { get; init; }    // E of them
}

/// <summary>
/// Every weight of an OLMoE model bound by name and checked against the config's shapes. Accepts per-expert tensors
/// and the fused expert layout of newer saves, and a tied or separate LM head.
/// </summary>
internal sealed class OlmoeWeights
{
    public required WeightMatrix Embeddings { get; init; }    // [V, d]
    public required LayerWeights[] Layers { get; init; }
    public required float[] FinalNorm { get; init; }          // [d]
    public required WeightMatrix LmHead { get; init; }        // [V, d]

    /// <summary>Bytes of weights one decoded token streams: attention, router, top-k experts per layer, and the LM head.</summary>
    public long BytesPerDecodedToken(OlmoeConfig config)
    {
        long perLayer = 0;
        var layer = Layers[0];
        perLayer += layer.Q.SizeInBytes + layer.K.SizeInBytes + layer.V.SizeInBytes + layer.O.SizeInBytes + layer.Router.SizeInBytes;
        var expert = layer.Experts[0];
        perLayer += config.NumExpertsPerToken * (expert.Gate.SizeInBytes + expert.Up.SizeInBytes + expert.Down.SizeInBytes);
        return perLayer * Layers.Length + LmHead.SizeInBytes;
    }

    /// <summary>
    /// The same weights with every projection matrix — attention, router, experts, LM head; not the embedding
    /// table, which is only ever looked up by row — replaced by <paramref name="map"/>(matrix), in a fixed order.
    /// </summary>
    public OlmoeWeights WithMatrices(Func<WeightMatrix, WeightMatrix> map)
    {
        var layers = new LayerWeights[Layers.Length];
        for (int l = 0; l < layers.Length; l++)
        {
            var layer = Layers[l];
            layers[l] = new LayerWeights
            {
                InputNorm = layer.InputNorm,
                Q = map(layer.Q),
                K = map(layer.K),
                V = map(layer.V),
                O = map(layer.O),
                QNorm = layer.QNorm,
                KNorm = layer.KNorm,
                PostAttentionNorm = layer.PostAttentionNorm,
                Router = map(layer.Router),
                Experts = Array.ConvertAll(layer.Experts, e => new ExpertWeights(map(e.Gate), map(e.Up), map(e.Down))),
            };
        }
        return new OlmoeWeights { Embeddings = Embeddings, Layers = layers, FinalNorm = FinalNorm, LmHead = map(LmHead) };
    }

    public static OlmoeWeights Bind(CheckpointFiles files, OlmoeConfig c)
    {
        long d = c.HiddenSize, qSize = c.NumAttentionHeads * c.HeadDim, kvSize = c.KeyValueSize;
        var embeddings = files.Matrix(TensorNames.Embeddings, c.VocabSize, d);
        var layers = new LayerWeights[c.NumHiddenLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new LayerWeights
            {
                InputNorm = files.Vector(TensorNames.InputNorm(l), (int)d),
                Q = files.Matrix(TensorNames.QProj(l), qSize, d),
                K = files.Matrix(TensorNames.KProj(l), kvSize, d),
                V = files.Matrix(TensorNames.VProj(l), kvSize, d),
                O = files.Matrix(TensorNames.OProj(l), d, qSize),
                QNorm = files.Vector(TensorNames.QNorm(l), (int)qSize),
                KNorm = files.Vector(TensorNames.KNorm(l), (int)kvSize),
                PostAttentionNorm = files.Vector(TensorNames.PostAttentionNorm(l), (int)d),
                Router = files.Matrix(TensorNames.Router(l), c.NumExperts, d),
                Experts = BindExperts(files, c, l),
            };
        }
        var lmHead = c.TieWordEmbeddings ? embeddings : files.Matrix(TensorNames.LmHead, c.VocabSize, d);
        return new OlmoeWeights
        {
            Embeddings = embeddings,
            Layers = layers,
            FinalNorm = files.Vector(TensorNames.FinalNorm, (int)d),
            LmHead = lmHead,
        };
    }

    private static ExpertWeights[] BindExperts(CheckpointFiles files, OlmoeConfig c, int layer)
    {
        int d = c.HiddenSize, inter = c.IntermediateSize, count = c.NumExperts;
        var experts = new ExpertWeights[count];
        if (files.Contains(TensorNames.FusedGateUp(layer)))
        {
            var gateUp = files.Matrix(TensorNames.FusedGateUp(layer), count, 2L * inter, d);
            var down = files.Matrix(TensorNames.FusedDown(layer), count, d, inter);
            for (int e = 0; e < count; e++)
                experts[e] = new ExpertWeights(
                    gateUp.Slice(e * 2 * inter, inter),
                    gateUp.Slice(e * 2 * inter + inter, inter),
                    down.Slice(e * d, d));
            return experts;
        }
        for (int e = 0; e < count; e++)
            experts[e] = new ExpertWeights(
                files.Matrix(TensorNames.ExpertGate(layer, e), inter, d),
                files.Matrix(TensorNames.ExpertUp(layer, e), inter, d),
                files.Matrix(TensorNames.ExpertDown(layer, e), d, inter));
        return experts;
    }
}
