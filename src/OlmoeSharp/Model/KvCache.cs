using System.Runtime.InteropServices;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Keys (after q/k-norm and RoPE) and values of every processed position, per layer, laid out head-major:
/// [kvHead][position][headDim], in float32 or bfloat16 (<see cref="KvCachePrecision"/>). Attention scans one head
/// over all positions, so each head's keys are one contiguous stream the prefetchers follow (a position-major layout
/// put 8 KiB between consecutive reads of a head, a new page each). Storage grows with use up to the model's context
/// length, so a short chat never pays for 4096 positions.
/// </summary>
internal sealed class KvCache
{
    private readonly int _layers;
    private readonly int _heads;
    private readonly int _headDim;
    private readonly int _maxPositions;
    // One pair in use, by Precision: float32 rows, or bf16 bit patterns.
    private float[][] _keys = [], _values = [];
    private ushort[][] _keys16 = [], _values16 = [];

    public KvCache(int layers, int kvHeads, int headDim, int maxPositions, int initialPositions = 64, KvCachePrecision precision = KvCachePrecision.Float32)
    {
        if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown KV cache precision.");
        _layers = layers;
        _heads = kvHeads;
        _headDim = headDim;
        _maxPositions = maxPositions;
        Precision = precision;
        Resize(Math.Min(initialPositions, maxPositions));
    }

    public KvCachePrecision Precision { get; }

    /// <summary>Positions the storage holds without growing.</summary>
    public int Capacity { get; private set; }

    /// <summary>Distance between two heads' blocks in the key and value storage: Capacity × headDim elements.</summary>
    public int HeadStride => Capacity * _headDim;

    /// <summary>Makes room for <paramref name="positions"/> positions, keeping what is stored.</summary>
    public void EnsureCapacity(int positions)
    {
        if (positions <= Capacity) return;
        if (positions > _maxPositions) throw new ArgumentOutOfRangeException(nameof(positions), $"the context holds at most {_maxPositions} positions.");
        // Doubling keeps decode's growth amortised; a long prompt jumps straight to its length (rounded to 64), so
        // 1040 positions take 1088, not 2048 (256 KiB each on the full model in float32).
        long wanted = Math.Max((long)Capacity * 2, (positions + 63L) / 64 * 64);
        Resize((int)Math.Min(wanted, _maxPositions));
    }

    /// <summary>All float32 key storage of a layer, [kvHeads][Capacity][headDim]; valid until the next growth.</summary>
    public float[] Keys(int layer) => _keys[layer];

    /// <summary>All float32 value storage of a layer; valid until the next growth.</summary>
    public float[] Values(int layer) => _values[layer];

    /// <summary>All bf16 key storage of a layer (<see cref="KvCachePrecision.BFloat16"/>); valid until the next growth.</summary>
    public ushort[] Keys16(int layer) => _keys16[layer];

    /// <summary>All bf16 value storage of a layer; valid until the next growth.</summary>
    public ushort[] Values16(int layer) => _values16[layer];

    /// <summary>Stores one position's keys and values (all kv heads concatenated, as the projections produce them).</summary>
    public void Store(int layer, int position, ReadOnlySpan<float> keys, ReadOnlySpan<float> values)
    {
        for (int h = 0; h < _heads; h++)
        {
            int offset = h * HeadStride + position * _headDim;
            var k = keys.Slice(h * _headDim, _headDim);
            var v = values.Slice(h * _headDim, _headDim);
            if (Precision == KvCachePrecision.Float32)
            {
                k.CopyTo(_keys[layer].AsSpan(offset, _headDim));
                v.CopyTo(_values[layer].AsSpan(offset, _headDim));
            }
            else
            {
                BFloat16Kernels.Narrow(k, _keys16[layer].AsSpan(offset, _headDim));
                BFloat16Kernels.Narrow(v, _values16[layer].AsSpan(offset, _headDim));
            }
        }
    }

    /// <summary>Layers the cache holds.</summary>
    public int Layers => _layers;

    /// <summary>Key/value heads per layer.</summary>
    public int Heads => _heads;

    /// <summary>Width of one head.</summary>
    public int HeadDim => _headDim;

    /// <summary>Bytes one stored element takes: 4 (float32) or 2 (bf16).</summary>
    public int ElementBytes => Precision == KvCachePrecision.Float32 ? sizeof(float) : sizeof(ushort);

    /// <summary>Bytes one position takes over all layers, keys and values: layers × 2 × kvHeads × headDim × <see cref="ElementBytes"/>.</summary>
    public long BytesPerPosition => (long)_layers * 2 * _heads * _headDim * ElementBytes;

    /// <summary>Bytes of storage allocated now (<see cref="Capacity"/> positions).</summary>
    public long AllocatedBytes => BytesPerPosition * Capacity;

    /// <summary>
    /// The raw bytes of one head's first <paramref name="positions"/> keys (or values) in one layer: positions × headDim
    /// elements, contiguous (the head-major layout), in the machine's byte order. Valid until the next growth.
    /// </summary>
    public Span<byte> HeadBytes(int layer, int head, bool values, int positions)
    {
        if ((uint)positions > (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(positions), $"{positions} positions exceed the capacity of {Capacity}.");
        int offset = head * HeadStride, length = positions * _headDim;
        return Precision == KvCachePrecision.Float32
            ? MemoryMarshal.AsBytes((values ? _values : _keys)[layer].AsSpan(offset, length))
            : MemoryMarshal.AsBytes((values ? _values16 : _keys16)[layer].AsSpan(offset, length));
    }

    /// <summary>Copies the first <paramref name="positions"/> positions of <paramref name="source"/> (same shape and precision) over this cache's.</summary>
    public void CopyPrefixFrom(KvCache source, int positions)
    {
        if (source._layers != _layers || source._heads != _heads || source._headDim != _headDim || source.Precision != Precision)
            throw new ArgumentException("the caches differ in shape or precision.", nameof(source));
        EnsureCapacity(positions);
        for (int l = 0; l < _layers; l++)
            for (int h = 0; h < _heads; h++)
            {
                source.HeadBytes(l, h, values: false, positions).CopyTo(HeadBytes(l, h, values: false, positions));
                source.HeadBytes(l, h, values: true, positions).CopyTo(HeadBytes(l, h, values: true, positions));
            }
    }

    private void Resize(int capacity)
    {
        if (Precision == KvCachePrecision.Float32)
        {
            _keys = Grow(_keys, capacity);
            _values = Grow(_values, capacity);
        }
        else
        {
            _keys16 = Grow(_keys16, capacity);
            _values16 = Grow(_values16, capacity);
        }
        Capacity = capacity;
    }

    /// <summary>New storage of <paramref name="capacity"/> positions per layer, each head's stored positions copied over.</summary>
    private T[][] Grow<T>(T[][] old, int capacity)
    {
        var arrays = new T[_layers][];
        for (int l = 0; l < _layers; l++)
        {
            arrays[l] = new T[(long)capacity * _heads * _headDim];
            if (old.Length == 0) continue;
            for (int h = 0; h < _heads; h++)
                old[l].AsSpan(h * HeadStride, HeadStride).CopyTo(arrays[l].AsSpan(h * capacity * _headDim));
        }
        return arrays;
    }
}
