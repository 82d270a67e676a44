namespace OlmoeSharp.Constraints;

/// <summary>A set of byte values (256 bits): the terminal symbol of a byte-level grammar.</summary>
internal readonly struct ByteSet : IEquatable<ByteSet>
{
    private readonly ulong _w0, _w1, _w2, _w3;

    private ByteSet(ulong w0, ulong w1, ulong w2, ulong w3) => (_w0, _w1, _w2, _w3) = (w0, w1, w2, w3);

    /// <summary>The bytes <paramref name="first"/> through <paramref name="last"/> inclusive (empty when last &lt; first).</summary>
    public static ByteSet Range(int first, int last)
    {
        ulong w0 = 0, w1 = 0, w2 = 0, w3 = 0;
        for (int b = Math.Max(first, 0); b <= Math.Min(last, 255); b++)
        {
            ulong bit = 1UL << (b & 63);
            switch (b >> 6)
            {
                case 0: w0 |= bit; break;
                case 1: w1 |= bit; break;
                case 2: w2 |= bit; break;
                default: w3 |= bit; break;
            }
        }
        return new ByteSet(w0, w1, w2, w3);
    }

    public static ByteSet Single(byte value) => Range(value, value);

    /// <summary>The smallest byte in the set (0 for the empty set).</summary>
    public byte Lowest() => (byte)(_w0 != 0 ? ulong.TrailingZeroCount(_w0)
        : _w1 != 0 ? 64 + ulong.TrailingZeroCount(_w1)
        : _w2 != 0 ? 128 + ulong.TrailingZeroCount(_w2)
        : _w3 != 0 ? 192 + ulong.TrailingZeroCount(_w3) : 0);

    public bool Contains(byte value) => ((value >> 6) switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 } & (1UL << (value & 63))) != 0;

    public ByteSet Union(ByteSet other) => new(_w0 | other._w0, _w1 | other._w1, _w2 | other._w2, _w3 | other._w3);

    public bool Equals(ByteSet other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is ByteSet other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);
}
