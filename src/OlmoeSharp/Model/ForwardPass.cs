using System.Numerics.Tensors;
using OlmoeSharp.Loading;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The OLMoE forward pass for a block of consecutive tokens (one token when decoding, up to <see cref="MaxBlock"/>
/// of a prompt), reading and extending a <see cref="KvCache"/>. Projections run as matrix × matrix over the block,
/// experts over the tokens that chose them, attention causally within the block and over the cache. Buffers grow
/// to the largest block seen and are then reused, so decoding allocates nothing.
/// </summary>
internal sealed class ForwardPass
{
    /// <summary>Largest block processed at once: a 128-token prompt sends ~16 tokens to each expert; larger blocks reuse weights more but cost memory.</summary>
    public const int MaxBlock = 256;

    /// <summary>Logit rows computed at once when every row is wanted (a [rows, vocab] buffer).</summary>
    private const int LogitRowsPerPass = 16;

    private readonly OlmoeConfig _config;
    private readonly OlmoeWeights _weights;
    private readonly WorkerPool _pool;
    private readonly RotaryEmbedding _rope;
    private readonly ProjectionJob _projection = new();
    private readonly AttentionJob _attention;
    private readonly MoeExperts _experts;
    private readonly float[] _cos;
    private readonly float[] _sin;
    private int _capacity;

    // Activations of the block, row-major [tokens, width], named after the spec's equations.
    private float[] _h = [];            // residual stream [d]
    private float[] _normed = [];       // RMSNorm(h) [d]
    private float[] _q = [];            // [heads·hd]
    private float[] _k = [];            // [kv]
    private float[] _v = [];            // [kv]
    private float[] _attnHeads = [];    // attention output before o_proj [heads·hd]
    private float[] _attnOut = [];      // after o_proj [d]
    private float[] _routerLogits = []; // [E]
    private int[] _chosen = [];         // [k]
    private float[] _chosenWeights = [];// [k]
    private float[] _logits = [];       // [min(tokens, LogitRowsPerPass), V]

    public ForwardPass(OlmoeConfig config, OlmoeWeights weights, WorkerPool pool)
    {
        _config = config;
        _weights = weights;
        _pool = pool;
        _rope = new RotaryEmbedding(config.HeadDim, config.RopeTheta);
        _attention = new AttentionJob(config);
        _experts = new MoeExperts(config);
        _cos = new float[config.HeadDim / 2];
        _sin = new float[config.HeadDim / 2];
        EnsureCapacity(1);
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> (at most <see cref="MaxBlock"/>) at positions starting at
    /// <paramref name="position"/>; the cache must hold the positions before it. <paramref name="logits"/> receives
    /// the last token's logits (length V), every token's ([tokens, V]), or nothing (empty).
    /// Cancellation is checked before every layer.
    /// </summary>
    public void Forward(KvCache cache, ReadOnlySpan<int> tokens, int position, Span<float> logits, CancellationToken cancellationToken)
    {
        var c = _config;
        int n = tokens.Length, d = c.HiddenSize, qSize = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize;
        if (n is < 1 or > MaxBlock) throw new ArgumentOutOfRangeException(nameof(tokens), $"a block holds 1 to {MaxBlock} tokens.");
        EnsureCapacity(n);
        cache.EnsureCapacity(position + n);
        _attention.EnsureCapacity(cache.Capacity);

        // 1. h = embed_tokens[token]
        for (int i = 0; i < n; i++) MatVec.WidenRow(_weights.Embeddings, tokens[i], _h.AsSpan(i * d, d));

        for (int l = 0; l < _weights.Layers.Length; l++)
        {
            // A long prompt block takes seconds; checking per layer keeps cancellation prompt. Positions written so
            // far are simply overwritten next time, since the caller advances its position only on success.
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _weights.Layers[l];

            // 2.1–2.2 a = RMSNorm(h); q, k, v = W·a
            NormRows(_h, layer.InputNorm, d, n);
            _projection.Run(_pool, _normed, n, layer.Q, _q, layer.K, _k, layer.V, _v);

            for (int i = 0; i < n; i++)
            {
                var q = _q.AsSpan(i * qSize, qSize);
                var k = _k.AsSpan(i * kv, kv);
                var v = _v.AsSpan(i * kv, kv);
                // 2.3 q/k RMSNorm over the whole projection (all heads together), before RoPE. 2.4 optional clipping.
                VectorMath.RmsNorm(q, layer.QNorm, c.RmsNormEps, q);
                VectorMath.RmsNorm(k, layer.KNorm, c.RmsNormEps, k);
                if (c.ClipQkv is float clip)
                {
                    VectorMath.Clamp(q, clip);
                    VectorMath.Clamp(k, clip);
                    VectorMath.Clamp(v, clip);
                }
                // 2.5–2.6 rotate-half RoPE per head; the cache keeps k after RoPE and raw v.
                _rope.Angles(position + i, _cos, _sin);
                RotaryEmbedding.Apply(q, c.HeadDim, _cos, _sin);
                RotaryEmbedding.Apply(k, c.HeadDim, _cos, _sin);
                cache.Store(l, position + i, k, v);
            }

            // 2.7 causal attention: token i sees positions [0, position + i].
            _attention.Query = _q;
            _attention.Output = _attnHeads;
            _attention.Keys = cache.Keys(l);
            _attention.Values = cache.Values(l);
            _attention.HeadStride = cache.HeadStride;
            _attention.First = position;
            _attention.Tokens = n;
            _pool.Run(_attention, _attention.Heads, 1);

            // 2.8 h += Wo·heads
            _projection.Run(_pool, _attnHeads, n, layer.O, _attnOut);
            TensorPrimitives.Add(_h.AsSpan(0, n * d), _attnOut.AsSpan(0, n * d), _h.AsSpan(0, n * d));

            // 2.9–2.10 m = RMSNorm(h); route each token over all experts.
            NormRows(_h, layer.PostAttentionNorm, d, n);
            _projection.Run(_pool, _normed, n, layer.Router, _routerLogits);
            for (int i = 0; i < n; i++)
                MoeRouter.Route(_routerLogits.AsSpan(i * c.NumExperts, c.NumExperts), c.NormTopKProb,
                    _chosen.AsSpan(i * c.NumExpertsPerToken, c.NumExpertsPerToken),
                    _chosenWeights.AsSpan(i * c.NumExpertsPerToken, c.NumExpertsPerToken));

            // 2.11–2.12 h += Σ w_e · down_e(silu(gate_e·m) ⊙ up_e·m)
            _experts.Apply(_pool, layer.Experts, n, _chosen, _chosenWeights, _normed, _h);
        }

        if (logits.IsEmpty) return;
        // 3. logits = lm_head · RMSNorm(h), for the last token or for all of them.
        bool allRows = logits.Length == n * c.VocabSize && n > 1;
        int firstRow = allRows ? 0 : n - 1;
        for (int row = firstRow; row < n; row += LogitRowsPerPass)
        {
            int rows = Math.Min(LogitRowsPerPass, n - row);
            for (int i = 0; i < rows; i++)
                VectorMath.RmsNorm(_h.AsSpan((row + i) * d, d), _weights.FinalNorm, c.RmsNormEps, _normed.AsSpan(i * d, d));
            _projection.Run(_pool, _normed, rows, _weights.LmHead, _logits);
            _logits.AsSpan(0, rows * c.VocabSize).CopyTo(logits[((row - firstRow) * c.VocabSize)..]);
        }
    }

    private void NormRows(float[] source, float[] weight, int width, int rows)
    {
        for (int i = 0; i < rows; i++)
            VectorMath.RmsNorm(source.AsSpan(i * width, width), weight, _config.RmsNormEps, _normed.AsSpan(i * width, width));
    }

    private void EnsureCapacity(int tokens)
    {
        if (tokens <= _capacity) return;
        var c = _config;
        int d = c.HiddenSize, qSize = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize;
        _h = new float[tokens * d];
        _normed = new float[tokens * d];
        _q = new float[tokens * qSize];
        _k = new float[tokens * kv];
        _v = new float[tokens * kv];
        _attnHeads = new float[tokens * qSize];
        _attnOut = new float[tokens * d];
        _routerLogits = new float[tokens * c.NumExperts];
        _chosen = new int[tokens * c.NumExpertsPerToken];
        _chosenWeights = new float[tokens * c.NumExpertsPerToken];
        _logits = new float[Math.Min(tokens, LogitRowsPerPass) * c.VocabSize];
        _experts.EnsureCapacity(tokens);
        _capacity = tokens;
    }
}
