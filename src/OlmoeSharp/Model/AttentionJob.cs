using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Causal attention for a block of consecutive tokens whose keys and values are already in the cache, one item per
/// query head: token i (at position First + i) attends to cached positions [0, First + i] with
/// softmax(q·K_g / sqrt(hd))·V_g, where g is the key/value head the query head shares (GQA/MQA).
/// </summary>
internal sealed class AttentionJob : IRangeJob
{
    private readonly int _headDim;
    private readonly int _groupSize;
    private readonly int _qSize;
    private readonly float _scale;
    private float[] _scores = [];
    private int _scoreStride;

    public AttentionJob(OlmoeConfig config)
    {
        _headDim = config.HeadDim;
        _groupSize = config.NumAttentionHeads / config.NumKeyValueHeads;
        _qSize = config.NumAttentionHeads * config.HeadDim;
        _scale = 1f / MathF.Sqrt(_headDim);
        Heads = config.NumAttentionHeads;
    }

    public int Heads { get; }

    /// <summary>Queries of the block [tokens, heads·hd] (after norm and RoPE).</summary>
    public float[] Query { get; set; } = [];

    /// <summary>Outputs of the block [tokens, heads·hd].</summary>
    public float[] Output { get; set; } = [];

    public float[] Keys { get; set; } = [];

    public float[] Values { get; set; } = [];

    /// <summary>Distance between kv heads in <see cref="Keys"/>/<see cref="Values"/> (head-major cache layout).</summary>
    public int HeadStride { get; set; }

    /// <summary>Position of the block's first token.</summary>
    public int First { get; set; }

    /// <summary>Tokens in the block.</summary>
    public int Tokens { get; set; }

    /// <summary>Grows the per-head score scratch with the cache (not per token).</summary>
    public void EnsureCapacity(int positions)
    {
        if (_scoreStride >= positions) return;
        _scoreStride = positions;
        _scores = new float[Heads * positions];
    }

    public void Execute(int start, int end)
    {
        for (int head = start; head < end; head++)
        {
            int kvOffset = head / _groupSize * HeadStride;
            var scratch = _scores.AsSpan(head * _scoreStride, _scoreStride);
            for (int i = 0; i < Tokens; i++)
            {
                int length = First + i + 1;
                var q = Query.AsSpan(i * _qSize + head * _headDim, _headDim);
                var scores = scratch[..length];
                AttentionKernels.Scores(q, Keys.AsSpan(kvOffset, length * _headDim), _scale, scores);
                VectorMath.SoftmaxInPlace(scores);
                AttentionKernels.WeightedSum(scores, Values.AsSpan(kvOffset, length * _headDim), Output.AsSpan(i * _qSize + head * _headDim, _headDim));
            }
        }
    }
}
