namespace OlmoeSharp.Model;

/// <summary>
/// Keys (after q/k-norm and RoPE) and values of every processed position, per layer, laid out head-major:
/// [kvHead][position][headDim]. Attention scans one head over all positions, so each head's keys are one
/// contiguous stream the prefetchers follow (a position-major layout put 8 KiB between consecutive reads of a head,
/// a new page each). Storage grows with use up to the model's context length, so a short chat never pays for
/// 4096 positions.
/// </summary>
internal sealed class KvCache
{
    private readonly int _layers;
    private readonly int _heads;
    private readonly int _headDim;
    private readonly int _maxPositions;
    private float[][] _keys;
    private float[][] _values;

    public KvCache(int layers, int kvHeads, int headDim, int maxPositions, int initialPositions = 64)
    {
        _layers = layers;
        _heads = kvHeads;
        _headDim = headDim;
        _maxPositions = maxPositions;
        Capacity = Math.Min(initialPositions, maxPositions);
        _keys = Allocate(Capacity);
        _values = Allocate(Capacity);
    }

    /// <summary>Positions the storage holds without growing.</summary>
    public int Capacity { get; private set; }

    /// <summary>Distance between two heads' blocks in <see cref="Keys"/> and <see cref="Values"/>: Capacity × headDim.</summary>
    public int HeadStride => Capacity * _headDim;

    /// <summary>Makes room for <paramref name="positions"/> positions, keeping what is stored.</summary>
    public void EnsureCapacity(int positions)
    {
        if (positions <= Capacity) return;
        if (positions > _maxPositions) throw new ArgumentOutOfRangeException(nameof(positions), $"the context holds at most {_maxPositions} positions.");
        // Doubling keeps decode's growth amortised; a long prompt jumps straight to its length (rounded to 64), so
        // 1040 positions take 1088, not 2048 (256 KiB each on the full model).
        long wanted = Math.Max((long)Capacity * 2, (positions + 63L) / 64 * 64);
        int capacity = (int)Math.Min(wanted, _maxPositions);
        var keys = Allocate(capacity);
        var values = Allocate(capacity);
        for (int l = 0; l < _layers; l++)
            for (int h = 0; h < _heads; h++)
            {
                _keys[l].AsSpan(h * HeadStride, HeadStride).CopyTo(keys[l].AsSpan(h * capacity * _headDim));
                _values[l].AsSpan(h * HeadStride, HeadStride).CopyTo(values[l].AsSpan(h * capacity * _headDim));
            }
        _keys = keys;
        _values = values;
        Capacity = capacity;
    }

    /// <summary>All key storage of a layer, [kvHeads][Capacity][headDim]; valid until the next growth.</summary>
    public float[] Keys(int layer) => _keys[layer];

    /// <summary>All value storage of a layer, [kvHeads][Capacity][headDim]; valid until the next growth.</summary>
    public float[] Values(int layer) => _values[layer];

    /// <summary>Stores one position's keys and values (all kv heads concatenated, as the projections produce them).</summary>
    public void Store(int layer, int position, ReadOnlySpan<float> keys, ReadOnlySpan<float> values)
    {
        for (int h = 0; h < _heads; h++)
        {
            int offset = h * HeadStride + position * _headDim;
            keys.Slice(h * _headDim, _headDim).CopyTo(_keys[layer].AsSpan(offset, _headDim));
            values.Slice(h * _headDim, _headDim).CopyTo(_values[layer].AsSpan(offset, _headDim));
        }
    }

    private float[][] Allocate(int positions)
    {
        var arrays = new float[_layers][];
        for (int l = 0; l < _layers; l++) arrays[l] = new float[(long)positions * _heads * _headDim];
        return arrays;
    }
}
