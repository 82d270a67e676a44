namespace OlmoeSharp.Tensors;

/// <summary>
/// A read-only row-major matrix [Rows, Cols] of BF16, F16 or F32 elements that lives in memory owned by someone
/// else (usually a memory-mapped safetensors file), or of BF16 values re-encoded by <see cref="PackedBf16"/>
/// (<see cref="IsPacked"/>). It is a view: copying it copies the pointer, never the data. The owner must outlive
/// every use.
/// </summary>
internal readonly unsafe struct WeightMatrix
{
    public WeightMatrix(byte* data, TensorDType type, int rows, int cols)
    {
        if (!type.IsComputeType()) throw new ArgumentException($"{type} is not a compute type.", nameof(type));
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        Data = data;
        Type = type;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>A packed bf16 matrix: rows in <paramref name="payload"/>, group bases in <paramref name="bases"/>.</summary>
    public WeightMatrix(byte* payload, byte* bases, WeightCorrections corrections, int rows, int cols)
        : this(payload, TensorDType.BF16, rows, cols)
    {
        if (!PackedBf16.CanPack(cols)) throw new ArgumentOutOfRangeException(nameof(cols), cols, "packed rows must be a multiple of the group size.");
        Bases = bases;
        Corrections = corrections;
    }

    public byte* Data { get; }
    public TensorDType Type { get; }
    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Group bases of a packed matrix; null otherwise.</summary>
    public byte* Bases { get; }

    /// <summary>The values a packed matrix's codes cannot express; null when not packed.</summary>
    public WeightCorrections? Corrections { get; }

    /// <summary>True when the rows are <see cref="PackedBf16"/> encoded rather than stored as <see cref="Type"/>.</summary>
    public bool IsPacked => Bases != null;

    public int ElementSize => Type.SizeInBytes();

    /// <summary>Bytes the matrix occupies (for a packed one: rows, bases and corrections).</summary>
    public long SizeInBytes => IsPacked
        ? Rows * (PackedBf16.RowBytes(Cols) + PackedBf16.BaseBytesPerRow(Cols)) + Corrections!.SizeInBytes
        : (long)Rows * Cols * ElementSize;

    /// <summary>The address of the first element of <paramref name="row"/> (of its packed bytes, when packed).</summary>
    public byte* Row(int row) => Data + row * (IsPacked ? PackedBf16.RowBytes(Cols) : (long)Cols * ElementSize);

    /// <summary>Rows [start, start + count) as a matrix of their own (an expert inside a fused tensor, say).</summary>
    public WeightMatrix Slice(int start, int count)
    {
        if ((uint)start > (uint)Rows || (uint)count > (uint)(Rows - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside [0, {Rows}).");
        if (IsPacked) throw new InvalidOperationException("Packed matrices are packed after slicing, not sliced.");
        return new WeightMatrix(Row(start), Type, count, Cols);
    }
}
