using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Causal attention for a block of tokens whose keys and values are already in their caches, one item per query
/// head: in each segment (a sequence's share of the block), token i at position p + i attends to that sequence's
/// cached positions [0, p + i] with softmax(q·K_g / sqrt(hd))·V_g, where g is the key/value head the query head
/// shares (GQA/MQA).
/// </summary>
internal sealed class AttentionJob : IRangeJob
{
    private readonly int _headDim;
    private readonly int _groupSize;
    private readonly int _qSize;
    private readonly int _heads;
    private readonly float _scale;

    // The arguments of the current run (set by Run, read by the workers).
    private float[] _query = [];
    private ReadOnlyMemory<ForwardSegment> _segments;
    private int _layer;
    private float[] _scores = [];
    private int _scoreStride;
    private float[] _output = [];

    public AttentionJob(OlmoeConfig config)
    {
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        _groupSize = config.NumAttentionHeads / config.NumKeyValueHeads;
        _qSize = config.NumAttentionHeads * config.HeadDim;
        _scale = 1f / MathF.Sqrt(_headDim);
    }

    /// <summary>
    /// output[t] = attention of query[t] (the block's queries [tokens, heads·hd], after norm and RoPE) over layer
    /// <paramref name="layer"/> of its segment's cache. <paramref name="scores"/> is scratch of heads ×
    /// <paramref name="scoreStride"/>, the stride at least the longest segment's last position + 1.
    /// </summary>
    public void Run(WorkerPool pool, float[] query, ReadOnlyMemory<ForwardSegment> segments, int layer, float[] scores, int scoreStride, float[] output)
    {
        if (scores.Length < _heads * scoreStride) throw new ArgumentException("scores are shorter than heads × stride.", nameof(scores));
        (_query, _segments, _layer, _scores, _scoreStride, _output) = (query, segments, layer, scores, scoreStride, output);
        pool.Run(this, _heads, 1);
    }

    public void Execute(int start, int end)
    {
        var segments = _segments.Span;
        for (int head = start; head < end; head++)
        {
            var scratch = _scores.AsSpan(head * _scoreStride, _scoreStride);
            int row = 0;
            foreach (var segment in segments)
            {
                var cache = segment.Cache;
                int kvOffset = head / _groupSize * cache.HeadStride;
                for (int i = 0; i < segment.Count; i++, row++)
                {
                    int length = segment.Position + i + 1;
                    var q = _query.AsSpan(row * _qSize + head * _headDim, _headDim);
                    var scores = scratch[..length];
                    var output = _output.AsSpan(row * _qSize + head * _headDim, _headDim);
                    if (cache.Precision == KvCachePrecision.BFloat16)
                    {
                        AttentionKernels.Scores(q, cache.Keys16(_layer).AsSpan(kvOffset, length * _headDim), _scale, scores);
                        VectorMath.SoftmaxInPlace(scores);
                        AttentionKernels.WeightedSum(scores, cache.Values16(_layer).AsSpan(kvOffset, length * _headDim), output);
                    }
                    else
                    {
                        AttentionKernels.Scores(q, cache.Keys(_layer).AsSpan(kvOffset, length * _headDim), _scale, scores);
                        VectorMath.SoftmaxInPlace(scores);
                        AttentionKernels.WeightedSum(scores, cache.Values(_layer).AsSpan(kvOffset, length * _headDim), output);
                    }
                }
            }
        }
    }
}
