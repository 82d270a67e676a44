using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tensors;

/// <summary>
/// A read-only row-major matrix [Rows, Cols] whose rows are stored in some <see cref="WeightFormat"/> (bf16, f16,
/// f32 as in a safetensors file, or re-encoded at load), in memory owned by someone else: usually a memory-mapped
/// file. It is a view: copying it copies the pointer, never the data. The owner must outlive every use. Kernels
/// reach the data only through <see cref="Format"/>, so nothing outside the format folders asks which format it is.
/// </summary>
internal readonly unsafe struct WeightMatrix
{
    public WeightMatrix(WeightFormat format, byte* data, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(format);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (!format.CanStore(cols)) throw new ArgumentOutOfRangeException(nameof(cols), cols, $"{format.Name} cannot store rows of {cols} values.");
        Format = format;
        Data = data;
        Rows = rows;
        Cols = cols;
        RowBytes = format.RowBytes(cols);
    }

    /// <summary>How the rows are stored; owns every kernel that reads them.</summary>
    public WeightFormat Format { get; }

    /// <summary>The first byte of row 0.</summary>
    public byte* Data { get; }

    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Bytes from one row to the next (cached: kernels ask for every block of rows).</summary>
    public long RowBytes { get; }

    /// <summary>Bytes the matrix occupies, including any side data its format keeps.</summary>
    public long SizeInBytes => Format.SizeInBytes(this);

    /// <summary>The address of the first byte of <paramref name="row"/>.</summary>
    public byte* Row(int row) => Data + row * RowBytes;

    /// <summary>Rows [start, start + count) as a matrix of their own (an expert inside a fused tensor, say).</summary>
    public WeightMatrix Slice(int start, int count)
    {
        if ((uint)start > (uint)Rows || (uint)count > (uint)(Rows - start))
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside [0, {Rows}).");
        if (!Format.RowsAreSelfContained) throw new InvalidOperationException($"{Format.Name} matrices keep per-matrix data and cannot be sliced; slice before encoding.");
        return new WeightMatrix(Format, Row(start), count, Cols);
    }
}
