namespace OlmoeSharp.Tensors;

/// <summary>
/// Matrix × vector products and row widening of a <see cref="WeightMatrix"/> in any format, accumulating in
/// float32: the checks live here, the kernels in the matrix's <see cref="Formats.WeightFormat"/>. Callers hand each
/// thread a range of rows, so the product works on [rowStart, rowEnd).
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>y[r] = W[r]·x for r in [rowStart, rowEnd). y is indexed by row number.</summary>
    public static void MultiplyRows(in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int rowStart, int rowEnd)
    {
        if (x.Length < w.Cols) throw new ArgumentException($"x has {x.Length} elements, the matrix has {w.Cols} columns.", nameof(x));
        if (rowStart < 0 || rowEnd > w.Rows || rowStart > rowEnd)
            throw new ArgumentOutOfRangeException(nameof(rowStart), $"rows [{rowStart}, {rowEnd}) outside [0, {w.Rows}).");
        if (y.Length < rowEnd) throw new ArgumentException($"y has {y.Length} elements, rows go to {rowEnd}.", nameof(y));
        fixed (float* px = x)
        fixed (float* py = y)
            w.Format.MultiplyRows(w, px, py, rowStart, rowEnd);
    }

    /// <summary>dst = (float)W[row]: one row widened to float32 (an embedding lookup, say).</summary>
    public static void WidenRow(in WeightMatrix w, int row, Span<float> dst)
    {
        if ((uint)row >= (uint)w.Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside [0, {w.Rows}).");
        if (dst.Length < w.Cols) throw new ArgumentException($"destination has {dst.Length} elements, rows have {w.Cols}.", nameof(dst));
        fixed (float* pd = dst) w.Format.WidenRow(w, row, pd);
    }
}
