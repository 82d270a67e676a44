using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Causal attention for a block of consecutive tokens whose keys and values are already in the cache, one item per
/// query head: token i (at position first + i) attends to cached positions [0, first + i] with
/// softmax(q·K_g / sqrt(hd))·V_g, where g is the key/value head the query head shares (GQA/MQA).
/// </summary>
internal sealed class AttentionJob : IRangeJob
{
    private readonly int _heads;
    private readonly int _headDim;
    private readonly int _groupSize;
    private readonly int _qSize;
    private readonly float _scale;

    // The arguments of the current run (set by Run, read by the workers).
    private float[] _query = [];
    private KvCache? _cache;
    private int _layer;
    private int _headStride;
    private int _first;
    private int _tokens;
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
    /// output[i] = attention of query[i] (the block's queries [tokens, heads·hd], after norm and RoPE) over layer
    /// <paramref name="layer"/>'s cached positions [0, first + i]. <paramref name="scores"/> is scratch of at least
    /// heads × cache capacity.
    /// </summary>
    public void Run(WorkerPool pool, float[] query, KvCache cache, int layer, int first, int tokens, float[] scores, float[] output)
    {
        if (scores.Length < _heads * cache.Capacity) throw new ArgumentException("scores are shorter than heads × cache capacity.", nameof(scores));
        (_query, _cache, _layer, _headStride) = (query, cache, layer, cache.HeadStride);
        (_first, _tokens, _scores, _scoreStride, _output) = (first, tokens, scores, cache.Capacity, output);
        pool.Run(this, _heads, 1);
    }

    public void Execute(int start, int end)
    {
        for (int head = start; head < end; head++)
        {
            int kvOffset = head / _groupSize * _headStride;
            var scratch = _scores.AsSpan(head * _scoreStride, _scoreStride);
            for (int i = 0; i < _tokens; i++)
            {
                int length = _first + i + 1;
                var q = _query.AsSpan(i * _qSize + head * _headDim, _headDim);
                var scores = scratch[..length];
                var output = _output.AsSpan(i * _qSize + head * _headDim, _headDim);
                if (_cache!.Precision == KvCachePrecision.BFloat16)
                {
                    AttentionKernels.Scores(q, _cache.Keys16(_layer).AsSpan(kvOffset, length * _headDim), _scale, scores);
                    VectorMath.SoftmaxInPlace(scores);
                    AttentionKernels.WeightedSum(scores, _cache.Values16(_layer).AsSpan(kvOffset, length * _headDim), output);
                }
                else
                {
                    AttentionKernels.Scores(q, _cache.Keys(_layer).AsSpan(kvOffset, length * _headDim), _scale, scores);
                    VectorMath.SoftmaxInPlace(scores);
                    AttentionKernels.WeightedSum(scores, _cache.Values(_layer).AsSpan(kvOffset, length * _headDim), output);
                }
            }
        }
    }
}
