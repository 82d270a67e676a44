namespace OlmoeSharp.Tensors;

/// <summary>
/// A read-only row-major matrix [Rows, Cols] of BF16, F16 or F32 elements that lives in memory owned by someone
/// else (usually a memory-mapped safetensors file). It is a view: copying it copies the pointer, never the data.
/// The owner must outlive every use.
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

    public byte* Data { get; }
    public TensorDType Type { get; }
    public int Rows { get; }
    public int Cols { get; }

    public int ElementSize => Type.SizeInBytes();

    public long SizeInBytes => (long)Rows * Cols * ElementSize;

    /// <summary>The address of the first element of <paramref name="row"/>.</summary>
    public byte* Row(int row) => Data + (long)row * Cols * ElementSize;

    /// <summary>Rows [start, start + count) as a matrix of their own (an expert inside a fused tensor, say).</summary>
    public WeightMatrix Slice(int start, int count)
    {
        if ((uint)start > (uint)Rows || (uint)count > (uint)(Rows - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside [0, {Rows}).");
        return new WeightMatrix(Row(start), Type, count, Cols);
    }
}
