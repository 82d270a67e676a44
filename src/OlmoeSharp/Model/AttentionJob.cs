using System.Numerics.Tensors;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Causal attention of one query position over the cached positions [0, Length), one item per query head:
/// softmax(q_h·K_g / sqrt(hd))·V_g, where g is the key/value head the query head shares (GQA/MQA).
/// </summary>
internal sealed class AttentionJob : IRangeJob
{
    private readonly int _headDim;
    private readonly int _groupSize;
    private readonly int _kvSize;
    private readonly float _scale;
    private float[] _scores;

    public AttentionJob(OlmoeConfig config)
    {
        _headDim = config.HeadDim;
        _groupSize = config.NumAttentionHeads / config.NumKeyValueHeads;
        _kvSize = config.KeyValueSize;
        _scale = 1f / MathF.Sqrt(_headDim);
        Heads = config.NumAttentionHeads;
        _scores = [];
    }

    public int Heads { get; }

    /// <summary>Query of the current position, all heads concatenated (after norm and RoPE).</summary>
    public float[] Query { get; set; } = [];

    /// <summary>Output, all heads concatenated.</summary>
    public float[] Output { get; set; } = [];

    public float[] Keys { get; set; } = [];

    public float[] Values { get; set; } = [];

    /// <summary>Positions to attend to (the current one included).</summary>
    public int Length { get; set; }

    /// <summary>Grows the score scratch with the cache (not per token).</summary>
    public void EnsureCapacity(int positions)
    {
        if (_scores.Length < Heads * positions) _scores = new float[Heads * positions];
    }

    public void Execute(int start, int end)
    {
        for (int head = start; head < end; head++)
        {
            int kvOffset = head / _groupSize * _headDim;
            var q = Query.AsSpan(head * _headDim, _headDim);
            var scores = _scores.AsSpan(head * (_scores.Length / Heads), Length);
            for (int t = 0; t < Length; t++)
                scores[t] = TensorPrimitives.Dot(q, Keys.AsSpan(t * _kvSize + kvOffset, _headDim)) * _scale;
            VectorMath.SoftmaxInPlace(scores);
            var output = Output.AsSpan(head * _headDim, _headDim);
            output.Clear();
            for (int t = 0; t < Length; t++)
                TensorPrimitives.MultiplyAdd(Values.AsSpan(t * _kvSize + kvOffset, _headDim), scores[t], output, output);
        }
    }
}
