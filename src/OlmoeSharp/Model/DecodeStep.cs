using OlmoeSharp.Loading;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The forward pass of one token at one position, reading and extending a <see cref="KvCache"/>. Every buffer is
/// allocated once here, so a decoded token allocates nothing.
/// </summary>
internal sealed class DecodeStep
{
    private readonly OlmoeConfig _config;
    private readonly OlmoeWeights _weights;
    private readonly WorkerPool _pool;
    private readonly RotaryEmbedding _rope;
    private readonly MatVecJob _matVec = new();
    private readonly AttentionJob _attention;
    private readonly MoeExperts _experts;

    // Activations, named after the spec's equations.
    private readonly float[] _h;            // residual stream [d]
    private readonly float[] _normed;       // RMSNorm(h) [d]
    private readonly float[] _q;            // [heads·hd]
    private readonly float[] _k;            // [kv]
    private readonly float[] _v;            // [kv]
    private readonly float[] _attnHeads;    // attention output before o_proj [heads·hd]
    private readonly float[] _attnOut;      // after o_proj [d]
    private readonly float[] _routerLogits; // [E]
    private readonly int[] _chosen;         // [k]
    private readonly float[] _chosenWeights;// [k]
    private readonly float[] _cos;          // [hd/2]
    private readonly float[] _sin;          // [hd/2]
    private readonly float[] _logits;       // [V]

    public DecodeStep(OlmoeConfig config, OlmoeWeights weights, WorkerPool pool)
    {
        _config = config;
        _weights = weights;
        _pool = pool;
        _rope = new RotaryEmbedding(config.HeadDim, config.RopeTheta);
        _attention = new AttentionJob(config);
        _experts = new MoeExperts(config);
        int d = config.HiddenSize, qSize = config.NumAttentionHeads * config.HeadDim;
        _h = new float[d];
        _normed = new float[d];
        _q = new float[qSize];
        _k = new float[config.KeyValueSize];
        _v = new float[config.KeyValueSize];
        _attnHeads = new float[qSize];
        _attnOut = new float[d];
        _routerLogits = new float[config.NumExperts];
        _chosen = new int[config.NumExpertsPerToken];
        _chosenWeights = new float[config.NumExpertsPerToken];
        _cos = new float[config.HeadDim / 2];
        _sin = new float[config.HeadDim / 2];
        _logits = new float[config.VocabSize];
    }

    /// <summary>
    /// Runs <paramref name="token"/> at <paramref name="position"/> (the cache must hold positions before it) and,
    /// when <paramref name="logits"/> is not empty, writes the next-token logits there.
    /// </summary>
    public void Forward(KvCache cache, int token, int position, Span<float> logits)
    {
        var c = _config;
        cache.EnsureCapacity(position + 1);
        _attention.EnsureCapacity(cache.Capacity);
        _rope.Angles(position, _cos, _sin);

        // 1. h = embed_tokens[token]
        MatVec.WidenRow(_weights.Embeddings, token, _h);

        for (int l = 0; l < _weights.Layers.Length; l++)
        {
            var layer = _weights.Layers[l];

            // 2.1–2.2 a = RMSNorm(h); q, k, v = W·a
            VectorMath.RmsNorm(_h, layer.InputNorm, c.RmsNormEps, _normed);
            _matVec.Run(_pool, _normed, layer.Q, _q, layer.K, _k, layer.V, _v);

            // 2.3 q/k RMSNorm over the whole projection (all heads together), before RoPE. 2.4 optional clipping.
            VectorMath.RmsNorm(_q, layer.QNorm, c.RmsNormEps, _q);
            VectorMath.RmsNorm(_k, layer.KNorm, c.RmsNormEps, _k);
            if (c.ClipQkv is float clip)
            {
                VectorMath.Clamp(_q, clip);
                VectorMath.Clamp(_k, clip);
                VectorMath.Clamp(_v, clip);
            }

            // 2.5–2.6 rotate-half RoPE per head; the cache keeps k after RoPE and raw v.
            RotaryEmbedding.Apply(_q, c.HeadDim, _cos, _sin);
            RotaryEmbedding.Apply(_k, c.HeadDim, _cos, _sin);
            _k.CopyTo(cache.KeyRow(l, position));
            _v.CopyTo(cache.ValueRow(l, position));

            // 2.7 causal attention over positions [0, position].
            _attention.Query = _q;
            _attention.Output = _attnHeads;
            _attention.Keys = cache.Keys(l);
            _attention.Values = cache.Values(l);
            _attention.Length = position + 1;
            _pool.Run(_attention, _attention.Heads, 1);

            // 2.8 h += Wo·heads
            _matVec.Run(_pool, _attnHeads, layer.O, _attnOut);
            System.Numerics.Tensors.TensorPrimitives.Add(_h, _attnOut, _h);

            // 2.9–2.10 m = RMSNorm(h); route over all experts.
            VectorMath.RmsNorm(_h, layer.PostAttentionNorm, c.RmsNormEps, _normed);
            MatVec.MultiplyRows(layer.Router, _normed, _routerLogits, 0, layer.Router.Rows);
            MoeRouter.Route(_routerLogits, c.NormTopKProb, _chosen, _chosenWeights);

            // 2.11–2.12 h += Σ w_e · down_e(silu(gate_e·m) ⊙ up_e·m)
            _experts.Apply(_pool, layer.Experts, _chosen, _chosenWeights, _normed, _h);
        }

        if (logits.IsEmpty) return;
        // 3. logits = lm_head · RMSNorm(h)
        VectorMath.RmsNorm(_h, _weights.FinalNorm, c.RmsNormEps, _normed);
        _matVec.Run(_pool, _normed, _weights.LmHead, _logits);
        _logits.CopyTo(logits);
    }
}
