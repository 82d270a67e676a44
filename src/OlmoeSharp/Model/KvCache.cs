namespace OlmoeSharp.Model;

/// <summary>
/// Keys (after q/k-norm and RoPE) and values of every processed position, per layer, row-major [position, kvSize].
/// Storage grows by doubling up to the model's context length, so a short chat never pays for 4096 positions.
/// </summary>
internal sealed class KvCache
{
    private readonly int _layers;
    private readonly int _rowSize;
    private readonly int _maxPositions;
    private float[][] _keys;
    private float[][] _values;

    public KvCache(int layers, int rowSize, int maxPositions, int initialPositions = 64)
    {
        _layers = layers;
        _rowSize = rowSize;
        _maxPositions = maxPositions;
        Capacity = Math.Min(initialPositions, maxPositions);
        _keys = Allocate(Capacity);
        _values = Allocate(Capacity);
    }

    /// <summary>Positions the storage holds without growing.</summary>
    public int Capacity { get; private set; }

    /// <summary>Makes room for <paramref name="positions"/> positions, keeping what is stored.</summary>
    public void EnsureCapacity(int positions)
    {
        if (positions <= Capacity) return;
        if (positions > _maxPositions) throw new ArgumentOutOfRangeException(nameof(positions), $"the context holds at most {_maxPositions} positions.");
        int capacity = Capacity;
        while (capacity < positions) capacity = (int)Math.Min((long)capacity * 2, _maxPositions);
        var keys = Allocate(capacity);
        var values = Allocate(capacity);
        for (int l = 0; l < _layers; l++)
        {
            _keys[l].CopyTo(keys[l], 0);
            _values[l].CopyTo(values[l], 0);
        }
        _keys = keys;
        _values = values;
        Capacity = capacity;
    }

    /// <summary>All key storage of a layer, [Capacity, rowSize] row-major; valid until the next growth.</summary>
    public float[] Keys(int layer) => _keys[layer];

    /// <summary>All value storage of a layer, [Capacity, rowSize] row-major; valid until the next growth.</summary>
    public float[] Values(int layer) => _values[layer];

    public Span<float> KeyRow(int layer, int position) => _keys[layer].AsSpan(position * _rowSize, _rowSize);

    public Span<float> ValueRow(int layer, int position) => _values[layer].AsSpan(position * _rowSize, _rowSize);

    private float[][] Allocate(int positions)
    {
        var arrays = new float[_layers][];
        for (int l = 0; l < _layers; l++) arrays[l] = new float[(long)positions * _rowSize];
        return arrays;
    }
}
