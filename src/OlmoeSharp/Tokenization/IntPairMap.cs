using System.Numerics;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// An open-addressing hash map from a pair of non-negative ints to a long. Used on the hottest lookups (BPE merges,
/// canonical compositions), where a Dictionary with a tuple key costs several times more.
/// </summary>
internal sealed class IntPairMap
{
    private const long Empty = -1;

    private readonly long[] _keys;
    private readonly long[] _values;
    private readonly int _shift;
    private readonly int _mask;

    /// <summary>Creates a map sized for up to <paramref name="capacity"/> pairs at a load factor of at most one half.</summary>
    public IntPairMap(int capacity)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity * 2, 16));
        _keys = new long[size];
        _keys.AsSpan().Fill(Empty);
        _values = new long[size];
        _mask = size - 1;
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    /// <summary>Adds the pair, or replaces its value when it is already present.</summary>
    public void Set(int first, int second, long value)
    {
        long key = Key(first, second);
        for (int slot = Slot(key); ; slot = (slot + 1) & _mask)
        {
            if (_keys[slot] == Empty || _keys[slot] == key)
            {
                _keys[slot] = key;
                _values[slot] = value;
                return;
            }
        }
    }

    public bool TryGetValue(int first, int second, out long value)
    {
        long key = Key(first, second);
        for (int slot = Slot(key); ; slot = (slot + 1) & _mask)
        {
            long stored = _keys[slot];
            if (stored == key)
            {
                value = _values[slot];
                return true;
            }
            if (stored == Empty)
            {
                value = 0;
                return false;
            }
        }
    }

    private static long Key(int first, int second) => ((long)first << 32) | (uint)second;

    // Fibonacci hashing: the high bits of the product mix both halves of the key.
    private int Slot(long key) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> _shift);
}
