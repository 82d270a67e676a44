using OlmoeSharp.Loading;

namespace OlmoeSharp.Model;

/// <summary>
/// Binds <see cref="OlmoeWeights"/> to a checkpoint's tensors by their Hugging Face names, each checked against the
/// config's shapes. Accepts per-expert tensors and the fused expert layout of newer saves, and a tied or separate
/// LM head.
/// </summary>
internal static class WeightBinding
{
    public static OlmoeWeights Bind(ICheckpointTensors files, OlmoeConfig c)
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

    private static ExpertWeights[] BindExperts(ICheckpointTensors files, OlmoeConfig c, int layer)
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
