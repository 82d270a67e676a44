using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>One expert's SwiGLU MLP: down(silu(gate·x) ⊙ up·x).</summary>
/// <param name="Gate">[I, d]</param>
/// <param name="Up">[I, d]</param>
/// <param name="Down">[d, I]</param>
internal readonly record struct ExpertWeights(WeightMatrix Gate, WeightMatrix Up, WeightMatrix Down);

/// <summary>The weights of one decoder layer. Matrices are views (into the mapped files, or re-encoded copies); norms are small float copies.</summary>
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
/// Every weight of an OLMoE model (the "Weights" of Config / Weights / RunState): views of the matrices wherever they
/// live, in whatever format, and float copies of the norms. Bound from files by <see cref="WeightBinding"/>.
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
        perLayer += config.NumExpertsPerToken * BytesPerExpert;
        return perLayer * Layers.Length + LmHead.SizeInBytes;
    }

    /// <summary>Bytes of one expert of a layer (gate, up and down; the first layer's first expert stands for all).</summary>
    public long BytesPerExpert
    {
        get
        {
            var expert = Layers[0].Experts[0];
            return expert.Gate.SizeInBytes + expert.Up.SizeInBytes + expert.Down.SizeInBytes;
        }
    }

    /// <summary>The projection matrices, in the order <see cref="WithMatrices(IReadOnlyList{WeightMatrix})"/> takes them back.</summary>
    public List<WeightMatrix> ProjectionMatrices()
    {
        var matrices = new List<WeightMatrix>();
        WithMatrices((m, _, _) => { matrices.Add(m); return m; }, embeddings: false);
        return matrices;
    }

    /// <summary>The same weights with the projection matrices replaced, in <see cref="ProjectionMatrices"/>' order.</summary>
    public OlmoeWeights WithMatrices(IReadOnlyList<WeightMatrix> replacements) => Replace(replacements, embeddings: false);

    /// <summary>
    /// Every matrix with its kind and layer (−1 outside the layers): the projection matrices and the embedding table.
    /// A tied LM head is the embedding table, listed once, as the <see cref="TensorKind.Output"/> it also is.
    /// </summary>
    public List<(WeightMatrix Matrix, TensorKind Kind, int Layer)> EveryMatrix()
    {
        var matrices = new List<(WeightMatrix, TensorKind, int)>();
        WithMatrices((m, kind, layer) => { matrices.Add((m, kind, layer)); return m; }, embeddings: true);
        return matrices;
    }

    /// <summary>The same weights with every matrix replaced, in <see cref="EveryMatrix"/>' order.</summary>
    public OlmoeWeights WithEveryMatrix(IReadOnlyList<WeightMatrix> replacements) => Replace(replacements, embeddings: true);

    private unsafe bool Tied => LmHead.Data == Embeddings.Data && LmHead.Format == Embeddings.Format;

    private OlmoeWeights Replace(IReadOnlyList<WeightMatrix> replacements, bool embeddings)
    {
        int next = 0;
        var weights = WithMatrices((_, _, _) => replacements[next++], embeddings);
        if (next != replacements.Count) throw new ArgumentException($"{replacements.Count} matrices given, {next} needed.", nameof(replacements));
        return weights;
    }

    /// <summary>
    /// The same weights with every projection matrix — attention, router, experts, LM head — and, with
    /// <paramref name="embeddings"/>, the embedding table replaced by <paramref name="map"/>(matrix, kind, layer), in a
    /// fixed order. Without it the embedding table, which is only ever looked up by row, stays as it is.
    /// </summary>
    private OlmoeWeights WithMatrices(Func<WeightMatrix, TensorKind, int, WeightMatrix> map, bool embeddings)
    {
        bool tied = embeddings && Tied;
        var embeddingTable = embeddings && !tied ? map(Embeddings, TensorKind.TokenEmbedding, -1) : Embeddings;
        var layers = new LayerWeights[Layers.Length];
        for (int l = 0; l < layers.Length; l++)
        {
            var layer = Layers[l];
            layers[l] = new LayerWeights
            {
                InputNorm = layer.InputNorm,
                Q = map(layer.Q, TensorKind.AttentionQ, l),
                K = map(layer.K, TensorKind.AttentionK, l),
                V = map(layer.V, TensorKind.AttentionV, l),
                O = map(layer.O, TensorKind.AttentionOutput, l),
                QNorm = layer.QNorm,
                KNorm = layer.KNorm,
                PostAttentionNorm = layer.PostAttentionNorm,
                Router = map(layer.Router, TensorKind.Router, l),
                Experts = Array.ConvertAll(layer.Experts, e => new ExpertWeights(
                    map(e.Gate, TensorKind.ExpertGate, l), map(e.Up, TensorKind.ExpertUp, l), map(e.Down, TensorKind.ExpertDown, l))),
            };
        }
        var lmHead = map(LmHead, TensorKind.Output, -1);
        if (tied) embeddingTable = lmHead;
        return new OlmoeWeights { Embeddings = embeddingTable, Layers = layers, FinalNorm = FinalNorm, LmHead = lmHead };
    }
}
