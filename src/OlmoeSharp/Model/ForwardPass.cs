using System.Numerics.Tensors;
using OlmoeSharp.Telemetry;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The OLMoE forward pass for a block of tokens (one token when decoding, up to <see cref="MaxBlock"/> of a prompt,
/// or a batched step: the tokens of several sequences, each a <see cref="ForwardSegment"/> at its own position with
/// its own cache), writing a <see cref="RunState"/>. Projections run as matrix × matrix over the whole block, experts
/// over the tokens (of any sequence) that chose them, attention causally within each segment and over its cache.
/// Step numbers are those of docs/model.md. Not shared between threads: its jobs hold the arguments of the run in
/// progress.
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
    /// Runs <paramref name="tokens"/> (at most <see cref="MaxBlock"/>), split into <paramref name="segments"/> in
    /// order; each segment's cache must hold room for its positions (<see cref="KvCache.EnsureCapacity"/>) and the
    /// positions before. <paramref name="logits"/> receives, segment after segment, the rows each asks for
    /// (<see cref="ForwardSegment.LogitRows"/>), [rows, V]. Cancellation is checked before every layer; each
    /// segment's observer sees its tokens' routing in each layer as it is decided.
    /// </summary>
    public void Forward(RunState state, ReadOnlySpan<int> tokens, ReadOnlyMemory<ForwardSegment> segments, Span<float> logits, CancellationToken cancellationToken)
    {
        int n = tokens.Length, d = _config.HiddenSize, rows = 0, covered = 0, capacity = 0;
        if (n is < 1 or > MaxBlock) throw new ArgumentOutOfRangeException(nameof(tokens), $"a block holds 1 to {MaxBlock} tokens.");
        foreach (var segment in segments.Span)
        {
            if (segment.Count < 1 || (segment.LogitRows != 0 && segment.LogitRows != 1 && segment.LogitRows != segment.Count))
                throw new ArgumentException("a segment holds at least one token and asks for 0, 1 or all of its logit rows.", nameof(segments));
            if (segment.Cache.Capacity < segment.Position + segment.Count)
                throw new ArgumentException("a segment's cache has no room for its positions.", nameof(segments));
            covered += segment.Count;
            rows += segment.LogitRows;
            capacity = Math.Max(capacity, segment.Cache.Capacity);
        }
        if (covered != n) throw new ArgumentException($"the segments cover {covered} tokens; the block has {n}.", nameof(segments));
        if (logits.Length != (long)rows * _config.VocabSize)
            throw new ArgumentException($"the segments ask for {rows} logit rows; the span holds {logits.Length} values.", nameof(logits));
        state.EnsureCapacity(n);
        state.EnsureScores(capacity);

        // 1. h = embed_tokens[token]
        for (int i = 0; i < n; i++) MatVec.WidenRow(_weights.Embeddings, tokens[i], state.Hidden.AsSpan(i * d, d));

        bool observed = false;
        foreach (var segment in segments.Span) observed |= segment.Activations is not null;
        for (int l = 0; l < _weights.Layers.Length; l++)
        {
            // A long prompt block takes seconds; checking per layer keeps cancellation prompt. Positions written so
            // far are simply overwritten next time, since the caller advances its position only on success.
            cancellationToken.ThrowIfCancellationRequested();
            var layer = _weights.Layers[l];
            AttentionBlock(state, layer, l, n, segments, observed);
            MoeBlock(state, layer, l, tokens, segments, observed);
        }

        if (rows > 0) LmHead(state, segments.Span, logits);
    }

    /// <summary>Steps 2.1–2.8: h += o_proj(attention(RMSNorm(h))), each segment's keys and values added to its cache.</summary>
    private void AttentionBlock(RunState s, LayerWeights layer, int l, int n, ReadOnlyMemory<ForwardSegment> segments, bool observed)
    {
        var c = _config;
        int d = c.HiddenSize, qSize = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize;

        // 2.1–2.2 a = RMSNorm(h); q, k, v = W·a
        NormRows(s.Hidden, layer.InputNorm, s.Normed, n);
        if (observed) Report(segments.Span, ActivationName.AttentionNorm, l, s.Normed, d);
        _projection.Run(_pool, s.Normed, n, layer.Q, s.Query, layer.K, s.Key, layer.V, s.Value);

        int row = 0;
        foreach (var segment in segments.Span)
            for (int i = 0; i < segment.Count; i++, row++)
            {
                var q = s.Query.AsSpan(row * qSize, qSize);
                var k = s.Key.AsSpan(row * kv, kv);
                var v = s.Value.AsSpan(row * kv, kv);
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
                _rope.Angles(segment.Position + i, s.RopeCos, s.RopeSin);
                RotaryEmbedding.Apply(q, c.HeadDim, s.RopeCos, s.RopeSin);
                RotaryEmbedding.Apply(k, c.HeadDim, s.RopeCos, s.RopeSin);
                segment.Cache.Store(l, segment.Position + i, k, v);
            }
        if (observed)
        {
            Report(segments.Span, ActivationName.Query, l, s.Query, qSize);
            Report(segments.Span, ActivationName.Key, l, s.Key, kv);
            Report(segments.Span, ActivationName.Value, l, s.Value, kv);
        }

        // 2.7 causal attention: a segment's token i sees its positions [0, position + i].
        _attention.Run(_pool, s.Query, segments, l, s.Scores, s.ScoreStride, s.AttentionHeads);
        if (observed) Report(segments.Span, ActivationName.AttentionHeads, l, s.AttentionHeads, qSize);

        // 2.8 h += Wo·heads
        _projection.Run(_pool, s.AttentionHeads, n, layer.O, s.AttentionOutput);
        TensorPrimitives.Add(s.Hidden.AsSpan(0, n * d), s.AttentionOutput.AsSpan(0, n * d), s.Hidden.AsSpan(0, n * d));
        if (observed)
        {
            Report(segments.Span, ActivationName.AttentionOutput, l, s.AttentionOutput, d);
            Report(segments.Span, ActivationName.FfnInput, l, s.Hidden, d);
        }
    }

    /// <summary>Steps 2.9–2.12: h += Σ_top-k w_e · expert_e(RMSNorm(h)) — the router, then the experts.</summary>
    private void MoeBlock(RunState s, LayerWeights layer, int l, ReadOnlySpan<int> tokens, ReadOnlyMemory<ForwardSegment> segments, bool observed)
    {
        var c = _config;
        int n = tokens.Length, e = c.NumExperts, k = c.NumExpertsPerToken, d = c.HiddenSize;

        // 2.9–2.10 m = RMSNorm(h); route each token over all experts.
        NormRows(s.Hidden, layer.PostAttentionNorm, s.Normed, n);
        if (observed) Report(segments.Span, ActivationName.FfnNorm, l, s.Normed, d);
        _projection.Run(_pool, s.Normed, n, layer.Router, s.RouterLogits);
        for (int i = 0; i < n; i++)
            MoeRouter.Route(s.RouterLogits.AsSpan(i * e, e), c.NormTopKProb, s.ChosenExperts.AsSpan(i * k, k), s.ChosenWeights.AsSpan(i * k, k));
        // Telemetry: the decisions just made, as spans over the buffers the experts read next (the router logits
        // now hold the probabilities). Nothing runs here without an observer.
        int row = 0;
        foreach (var segment in segments.Span)
        {
            if (segment.Observer is { } observer)
                for (int i = 0; i < segment.Count; i++)
                {
                    int t = row + i;
                    observer.OnRouted(new RouterDecision(l, segment.Position + i, tokens[t], s.ChosenExperts.AsSpan(t * k, k), s.ChosenWeights.AsSpan(t * k, k), s.RouterLogits.AsSpan(t * e, e)));
                }
            row += segment.Count;
        }
        if (observed) Report(segments.Span, ActivationName.RouterProbabilities, l, s.RouterLogits, e);

        // 2.11–2.12 h += Σ w_e · down_e(silu(gate_e·m) ⊙ up_e·m), each expert over the tokens of every segment that
        // chose it. The sum is made on its own, then added to h, as the reference does (and so it can be observed).
        var moe = s.MoeOutput.AsSpan(0, n * d);
        moe.Clear();
        _experts.Apply(_pool, layer.Experts, n, s.ChosenExperts, s.ChosenWeights, s.Normed, s.MoeOutput, s.Experts);
        TensorPrimitives.Add(s.Hidden.AsSpan(0, n * d), moe, s.Hidden.AsSpan(0, n * d));
        if (observed)
        {
            Report(segments.Span, ActivationName.MoeOutput, l, s.MoeOutput, d);
            Report(segments.Span, ActivationName.LayerOutput, l, s.Hidden, d);
        }
    }

    /// <summary>Shows each observing segment its rows of an intermediate.</summary>
    private static void Report(ReadOnlySpan<ForwardSegment> segments, ActivationName name, int layer, float[] buffer, int width)
    {
        int row = 0;
        foreach (var segment in segments)
        {
            segment.Activations?.OnActivation(new Activation(name, layer, segment.Position, segment.Count, width, buffer.AsSpan(row * width, segment.Count * width)));
            row += segment.Count;
        }
    }

    /// <summary>Step 3: logits = lm_head · RMSNorm(h), for the rows the segments ask for, in passes of a few rows.</summary>
    private void LmHead(RunState s, ReadOnlySpan<ForwardSegment> segments, Span<float> logits)
    {
        var c = _config;
        int d = c.HiddenSize, pending = 0, written = 0, first = 0;
        foreach (var segment in segments)
        {
            for (int row = first + segment.Count - segment.LogitRows; row < first + segment.Count; row++)
            {
                var normed = s.Normed.AsSpan(pending * d, d);
                VectorMath.RmsNorm(s.Hidden.AsSpan(row * d, d), _weights.FinalNorm, c.RmsNormEps, normed);
                segment.Activations?.OnActivation(new Activation(ActivationName.FinalNorm, -1, segment.Position + row - first, 1, d, normed));
                if (++pending == RunState.LogitRowsPerPass) written += LmHeadPass(s, ref pending, logits[(written * c.VocabSize)..]);
            }
            first += segment.Count;
        }
        if (pending > 0) LmHeadPass(s, ref pending, logits[(written * c.VocabSize)..]);
    }

    /// <summary>The logits of the <paramref name="pending"/> rows normed into <see cref="RunState.Normed"/>, into the start of <paramref name="logits"/>.</summary>
    private int LmHeadPass(RunState s, ref int pending, Span<float> logits)
    {
        int rows = pending;
        _projection.Run(_pool, s.Normed, rows, _weights.LmHead, s.Logits);
        s.Logits.AsSpan(0, rows * _config.VocabSize).CopyTo(logits);
        pending = 0;
        return rows;
    }

    private void NormRows(float[] source, float[] weight, float[] destination, int rows)
    {
        int width = weight.Length;
        for (int i = 0; i < rows; i++)
            VectorMath.RmsNorm(source.AsSpan(i * width, width), weight, _config.RmsNormEps, destination.AsSpan(i * width, width));
    }
}
