using System.Buffers;
using System.Numerics.Tensors;

namespace OlmoeSharp.Tensors;

/// <summary>
/// Matrix × vector products of a stored weight matrix (BF16, F16 or F32) with a float32 vector, accumulating in
/// float32. Callers hand each thread a range of rows, so every entry point works on [rowStart, rowEnd).
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>Elements of an F16 row widened at a time; small enough for the stack, large enough to vectorise.</summary>
    private const int HalfChunk = 512;

    /// <summary>y[r] = W[r]·x for r in [rowStart, rowEnd). y is indexed by row number.</summary>
    public static void MultiplyRows(in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int rowStart, int rowEnd)
    {
        CheckRange(w, x, rowStart, rowEnd);
        if (y.Length < rowEnd) throw new ArgumentException($"y has {y.Length} elements, rows go to {rowEnd}.", nameof(y));
        if (w.IsPacked)
        {
            fixed (float* px = x)
            fixed (float* py = y)
                PackedBf16Kernels.MultiplyRows(w, px, py, rowStart, rowEnd);
            return;
        }
        if (w.Type == TensorDType.BF16)
        {
            fixed (float* px = x)
            fixed (float* py = y)
            {
                int r = rowStart;
                for (; r <= rowEnd - 4; r += 4)
                    BFloat16Kernels.Dot4((ushort*)w.Row(r), w.Cols, px, w.Cols, py + r);
                for (; r < rowEnd; r++)
                    py[r] = BFloat16Kernels.Dot((ushort*)w.Row(r), px, w.Cols);
            }
            return;
        }
        for (int r = rowStart; r < rowEnd; r++) y[r] = DotRow(w, r, x);
    }

    /// <summary>W[row]·x.</summary>
    public static float Dot(in WeightMatrix w, int row, ReadOnlySpan<float> x)
    {
        CheckRange(w, x, row, row + 1);
        return DotRow(w, row, x);
    }

    /// <summary>dst = (float)W[row]: one row widened to float32 (an embedding lookup, say).</summary>
    public static void WidenRow(in WeightMatrix w, int row, Span<float> dst)
    {
        if ((uint)row >= (uint)w.Rows) throw new ArgumentOutOfRangeException(nameof(row));
        if (dst.Length < w.Cols) throw new ArgumentException("destination too short", nameof(dst));
        if (w.IsPacked)
        {
            var bits = DecodedRow(w, row);
            fixed (ushort* pb = bits)
            fixed (float* pd = dst)
                BFloat16Kernels.Widen(pb, pd, w.Cols);
            ArrayPool<ushort>.Shared.Return(bits);
            return;
        }
        switch (w.Type)
        {
            case TensorDType.BF16:
                fixed (float* pd = dst) BFloat16Kernels.Widen((ushort*)w.Row(row), pd, w.Cols);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(w.Row(row), w.Cols), dst);
                break;
            default:
                new ReadOnlySpan<float>(w.Row(row), w.Cols).CopyTo(dst);
                break;
        }
    }

    private static float DotRow(in WeightMatrix w, int row, ReadOnlySpan<float> x)
    {
        int n = w.Cols;
        if (w.IsPacked)
        {
            var bits = DecodedRow(w, row);
            float dot;
            fixed (ushort* pb = bits)
            fixed (float* px = x)
                dot = BFloat16Kernels.Dot(pb, px, n);
            ArrayPool<ushort>.Shared.Return(bits);
            return dot;
        }
        switch (w.Type)
        {
            case TensorDType.BF16:
                fixed (float* px = x) return BFloat16Kernels.Dot((ushort*)w.Row(row), px, n);
            case TensorDType.F16:
                {
                    Span<float> widened = stackalloc float[HalfChunk];
                    Half* src = (Half*)w.Row(row);
                    float sum = 0;
                    for (int i = 0; i < n; i += HalfChunk)
                    {
                        int len = Math.Min(HalfChunk, n - i);
                        var chunk = widened[..len];
                        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src + i, len), chunk);
                        sum += TensorPrimitives.Dot(chunk, x.Slice(i, len));
                    }
                    return sum;
                }
            default:
                return TensorPrimitives.Dot(new ReadOnlySpan<float>(w.Row(row), n), x[..n]);
        }
    }

    /// <summary>A packed row decoded to bf16 in a pooled array the caller returns (off the hot paths: those decode in place).</summary>
    private static ushort[] DecodedRow(in WeightMatrix w, int row)
    {
        var bits = ArrayPool<ushort>.Shared.Rent(w.Cols);
        fixed (ushort* pb = bits) PackedBf16Kernels.DecodeRows(w, row, 1, pb);
        return bits;
    }

    private static void CheckRange(in WeightMatrix w, ReadOnlySpan<float> x, int rowStart, int rowEnd)
    {
        if (x.Length < w.Cols) throw new ArgumentException($"x has {x.Length} elements, the matrix has {w.Cols} columns.", nameof(x));
        if (rowStart < 0 || rowEnd > w.Rows || rowStart > rowEnd)
            throw new ArgumentOutOfRangeException(nameof(rowStart), $"rows [{rowStart}, {rowEnd}) outside [0, {w.Rows}).");
    }
}
