using System.Numerics.Tensors;
using OlmoeSharp.Telemetry;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The OLMoE forward pass for a block of consecutive tokens (one token when decoding, up to <see cref="MaxBlock"/>
/// of a prompt), reading and writing a <see cref="RunState"/>. Projections run as matrix × matrix over the block,
/// experts over the tokens that chose them, attention causally within the block and over the cache. Step numbers
/// are those of docs/model.md. One instance per session: its jobs hold the arguments of the run in progress.
/// </summary>
internal sealed class ForwardPass
{
    /// <summary>Largest block processed at once: a 128-token prompt sends ~16 tokens to each expert; larger blocks reuse weights more but cost memory.</summary>
    public const int MaxBlock = 256;

    private readonly OlmoeConfig _config;
    private readonly OlmoeWeights _weights;
    private readonly WorkerPool _pool;
    private readonly RotaryEmbedding _rope;
    private readonly ProjectionJob _projection = new();
    private readonly AttentionJob _attention;
    private readonly MoeExperts _experts;

    public ForwardPass(OlmoeConfig config, OlmoeWeights weights, WorkerPool pool)
    {
        _config = config;
        _weights = weights;
        _pool = pool;
        _rope = new RotaryEmbedding(config.HeadDim, config.RopeTheta);
        _attention = new AttentionJob(config);
        _experts = new MoeExperts(config);
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> (at most <see cref="MaxBlock"/>) at positions starting at
    /// <paramref name="position"/>; the state's cache must hold the positions before it. <paramref name="logits"/>
    /// receives the last token's logits (length V), every token's ([tokens, V]), or nothing (empty).
    /// Cancellation is checked before every layer. <paramref name="observer"/>, when set, sees each token's routing
    /// in each layer as it is decided.
    /// </summary>
    public void Forward(RunState state, ReadOnlySpan<int> tokens, int position, Span<float> logits, CancellationToken cancellationToken,
        IRouterObserver? observer = null)
    {
        int n = tokens.Length, d = _config.HiddenSize;
        if (n is < 1 or > MaxBlock) throw new ArgumentOutOfRangeException(nameof(tokens), $"a block holds 1 to {MaxBlock} tokens.");
        state.EnsureCapacity(n);
        state.EnsurePositions(position + n);

        // 1. h = embed_tokens[token]
        for (int i = 0; i < n; i++) MatVec.WidenRow(_weights.Embeddings, tokens[i], state.Hidden.AsSpan(i * d, d));

        for (int l = 0; l < _weights.Layers.Length; l++)
        {
            // A long prompt block takes seconds; checking per layer keeps cancellation prompt. Positions written so
            // far are simply overwritten next time, since the caller advances its position only on success.
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _weights.Layers[l];
            AttentionBlock(state, layer, l, n, position);
            MoeBlock(state, layer, l, tokens, position, observer);
        }

        if (!logits.IsEmpty) LmHead(state, n, logits);
    }

    /// <summary>Steps 2.1–2.8: h += o_proj(attention(RMSNorm(h))), the block's keys and values added to the cache.</summary>
    private void AttentionBlock(RunState s, LayerWeights layer, int l, int n, int position)
    {
        var c = _config;
        int d = c.HiddenSize, qSize = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize;

        // 2.1–2.2 a = RMSNorm(h); q, k, v = W·a
        NormRows(s.Hidden, layer.InputNorm, s.Normed, n);
        _projection.Run(_pool, s.Normed, n, layer.Q, s.Query, layer.K, s.Key, layer.V, s.Value);

        for (int i = 0; i < n; i++)
        {
            var q = s.Query.AsSpan(i * qSize, qSize);
            var k = s.Key.AsSpan(i * kv, kv);
            var v = s.Value.AsSpan(i * kv, kv);
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
            _rope.Angles(position + i, s.RopeCos, s.RopeSin);
            RotaryEmbedding.Apply(q, c.HeadDim, s.RopeCos, s.RopeSin);
            RotaryEmbedding.Apply(k, c.HeadDim, s.RopeCos, s.RopeSin);
            s.Cache.Store(l, position + i, k, v);
        }

        // 2.7 causal attention: token i sees positions [0, position + i].
        _attention.Run(_pool, s.Query, s.Cache, l, position, n, s.Scores, s.AttentionHeads);

        // 2.8 h += Wo·heads
        _projection.Run(_pool, s.AttentionHeads, n, layer.O, s.AttentionOutput);
        TensorPrimitives.Add(s.Hidden.AsSpan(0, n * d), s.AttentionOutput.AsSpan(0, n * d), s.Hidden.AsSpan(0, n * d));
    }

    /// <summary>Steps 2.9–2.12: h += Σ_top-k w_e · expert_e(RMSNorm(h)) — the router, then the experts.</summary>
    private void MoeBlock(RunState s, LayerWeights layer, int l, ReadOnlySpan<int> tokens, int position, IRouterObserver? observer)
    {
        var c = _config;
        int n = tokens.Length, e = c.NumExperts, k = c.NumExpertsPerToken;

        // 2.9–2.10 m = RMSNorm(h); route each token over all experts.
        NormRows(s.Hidden, layer.PostAttentionNorm, s.Normed, n);
        _projection.Run(_pool, s.Normed, n, layer.Router, s.RouterLogits);
        for (int i = 0; i < n; i++)
            MoeRouter.Route(s.RouterLogits.AsSpan(i * e, e), c.NormTopKProb, s.ChosenExperts.AsSpan(i * k, k), s.ChosenWeights.AsSpan(i * k, k));
        // Telemetry: the decisions just made, as spans over the buffers the experts read next (the router logits
        // now hold the probabilities). Nothing runs here without an observer.
        if (observer is not null)
            for (int i = 0; i < n; i++)
                observer.OnRouted(new RouterDecision(l, position + i, tokens[i], s.ChosenExperts.AsSpan(i * k, k), s.ChosenWeights.AsSpan(i * k, k), s.RouterLogits.AsSpan(i * e, e)));

        // 2.11–2.12 h += Σ w_e · down_e(silu(gate_e·m) ⊙ up_e·m)
        _experts.Apply(_pool, layer.Experts, n, s.ChosenExperts, s.ChosenWeights, s.Normed, s.Hidden, s.Experts);
    }

    /// <summary>Step 3: logits = lm_head · RMSNorm(h), for the last token or for all of them.</summary>
    private void LmHead(RunState s, int n, Span<float> logits)
    {
        var c = _config;
        int d = c.HiddenSize;
        bool allRows = logits.Length == n * c.VocabSize && n > 1;
        int firstRow = allRows ? 0 : n - 1;
        for (int row = firstRow; row < n; row += RunState.LogitRowsPerPass)
        {
            int rows = Math.Min(RunState.LogitRowsPerPass, n - row);
            for (int i = 0; i < rows; i++)
                VectorMath.RmsNorm(s.Hidden.AsSpan((row + i) * d, d), _weights.FinalNorm, c.RmsNormEps, s.Normed.AsSpan(i * d, d));
            _projection.Run(_pool, s.Normed, rows, _weights.LmHead, s.Logits);
            s.Logits.AsSpan(0, rows * c.VocabSize).CopyTo(logits[((row - firstRow) * c.VocabSize)..]);
        }
    }

    private void NormRows(float[] source, float[] weight, float[] destination, int rows)
    {
        int width = weight.Length;
        for (int i = 0; i < rows; i++)
            VectorMath.RmsNorm(source.AsSpan(i * width, width), weight, _config.RmsNormEps, destination.AsSpan(i * width, width));
    }
}
