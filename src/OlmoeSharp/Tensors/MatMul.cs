using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OlmoeSharp.Tensors;

/// <summary>
/// Matrix × matrix for a block of tokens: Y[t, r] = W[r]·X[t]. Four weight rows at a time are widened to float32
/// once into a per-thread tile, then multiplied against the tokens four by four with sixteen vector accumulators, so
/// each weight byte is read from memory once per block however many tokens there are, and the inner loop does
/// sixteen FMAs per eight loads.
/// </summary>
internal static unsafe class MatMul
{
    private const int RowBlock = 4;
    private const int TokenBlock = 4;

    [ThreadStatic] private static float[]? t_tile;

    /// <summary>
    /// Y[t, r] = W[r]·X[t] for rows r in [rowStart, rowEnd) and tokens t in [0, tokens).
    /// X is [tokens, W.Cols] row-major; Y is [tokens, ldy] row-major, indexed by row number.
    /// </summary>
    public static void MultiplyRows(in WeightMatrix w, ReadOnlySpan<float> x, int tokens, Span<float> y, int ldy, int rowStart, int rowEnd)
    {
        int cols = w.Cols;
        if (tokens < 0 || x.Length < (long)tokens * cols) throw new ArgumentException("x is shorter than tokens × cols.", nameof(x));
        if (rowStart < 0 || rowEnd > w.Rows || rowStart > rowEnd) throw new ArgumentOutOfRangeException(nameof(rowStart));
        if (tokens > 0 && (ldy < rowEnd || y.Length < (long)(tokens - 1) * ldy + rowEnd)) throw new ArgumentException("y is too short.", nameof(y));
        if (tokens == 0) return;
        if (tokens == 1)
        {
            // One token (decode): stream the stored rows straight through the mat-vec kernel, no tile.
            MatVec.MultiplyRows(w, x[..cols], y[..rowEnd], rowStart, rowEnd);
            return;
        }

        int tileLength = RowBlock * cols;
        var tile = t_tile is { } t && t.Length >= tileLength ? t : (t_tile = new float[Math.Max(tileLength, 4096)]);
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pt = tile)
        {
            for (int r = rowStart; r < rowEnd; r += RowBlock)
            {
                int rows = Math.Min(RowBlock, rowEnd - r);
                for (int i = 0; i < rows; i++) MatVec.WidenRow(w, r + i, new Span<float>(pt + i * cols, cols));
                int t0 = 0;
                if (rows == RowBlock)
                    for (; t0 <= tokens - TokenBlock; t0 += TokenBlock)
                        Kernel4x4(pt, px + (long)t0 * cols, cols, py + (long)t0 * ldy + r, ldy);
                for (; t0 < tokens; t0++)
                    for (int i = 0; i < rows; i++)
                        py[(long)t0 * ldy + r + i] = TensorPrimitives.Dot(new ReadOnlySpan<float>(pt + i * cols, cols), new ReadOnlySpan<float>(px + (long)t0 * cols, cols));
            }
        }
    }

    /// <summary>y[t·ldy + i] = w_i·x_t for 4 rows w (contiguous, n each) and 4 tokens x (contiguous, n each).</summary>
    private static void Kernel4x4(float* w, float* x, int n, float* y, int ldy)
    {
        float* w0 = w, w1 = w + n, w2 = w + 2 * n, w3 = w + 3 * n;
        float* x0 = x, x1 = x + n, x2 = x + 2 * n, x3 = x + 3 * n;
        int k = 0;
        Span<float> sums = stackalloc float[16];
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (; k <= n - 16; k += 16)
            {
                var v0 = Vector512.Load(x0 + k); var v1 = Vector512.Load(x1 + k);
                var v2 = Vector512.Load(x2 + k); var v3 = Vector512.Load(x3 + k);
                var u = Vector512.Load(w0 + k);
                a00 = Vector512.FusedMultiplyAdd(u, v0, a00); a01 = Vector512.FusedMultiplyAdd(u, v1, a01);
                a02 = Vector512.FusedMultiplyAdd(u, v2, a02); a03 = Vector512.FusedMultiplyAdd(u, v3, a03);
                u = Vector512.Load(w1 + k);
                a10 = Vector512.FusedMultiplyAdd(u, v0, a10); a11 = Vector512.FusedMultiplyAdd(u, v1, a11);
                a12 = Vector512.FusedMultiplyAdd(u, v2, a12); a13 = Vector512.FusedMultiplyAdd(u, v3, a13);
                u = Vector512.Load(w2 + k);
                a20 = Vector512.FusedMultiplyAdd(u, v0, a20); a21 = Vector512.FusedMultiplyAdd(u, v1, a21);
                a22 = Vector512.FusedMultiplyAdd(u, v2, a22); a23 = Vector512.FusedMultiplyAdd(u, v3, a23);
                u = Vector512.Load(w3 + k);
                a30 = Vector512.FusedMultiplyAdd(u, v0, a30); a31 = Vector512.FusedMultiplyAdd(u, v1, a31);
                a32 = Vector512.FusedMultiplyAdd(u, v2, a32); a33 = Vector512.FusedMultiplyAdd(u, v3, a33);
            }
            sums[0] = Vector512.Sum(a00); sums[1] = Vector512.Sum(a01); sums[2] = Vector512.Sum(a02); sums[3] = Vector512.Sum(a03);
            sums[4] = Vector512.Sum(a10); sums[5] = Vector512.Sum(a11); sums[6] = Vector512.Sum(a12); sums[7] = Vector512.Sum(a13);
            sums[8] = Vector512.Sum(a20); sums[9] = Vector512.Sum(a21); sums[10] = Vector512.Sum(a22); sums[11] = Vector512.Sum(a23);
            sums[12] = Vector512.Sum(a30); sums[13] = Vector512.Sum(a31); sums[14] = Vector512.Sum(a32); sums[15] = Vector512.Sum(a33);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (; k <= n - 8; k += 8)
            {
                var v0 = Vector256.Load(x0 + k); var v1 = Vector256.Load(x1 + k);
                var v2 = Vector256.Load(x2 + k); var v3 = Vector256.Load(x3 + k);
                var u = Vector256.Load(w0 + k);
                a00 = Vector256.FusedMultiplyAdd(u, v0, a00); a01 = Vector256.FusedMultiplyAdd(u, v1, a01);
                a02 = Vector256.FusedMultiplyAdd(u, v2, a02); a03 = Vector256.FusedMultiplyAdd(u, v3, a03);
                u = Vector256.Load(w1 + k);
                a10 = Vector256.FusedMultiplyAdd(u, v0, a10); a11 = Vector256.FusedMultiplyAdd(u, v1, a11);
                a12 = Vector256.FusedMultiplyAdd(u, v2, a12); a13 = Vector256.FusedMultiplyAdd(u, v3, a13);
                u = Vector256.Load(w2 + k);
                a20 = Vector256.FusedMultiplyAdd(u, v0, a20); a21 = Vector256.FusedMultiplyAdd(u, v1, a21);
                a22 = Vector256.FusedMultiplyAdd(u, v2, a22); a23 = Vector256.FusedMultiplyAdd(u, v3, a23);
                u = Vector256.Load(w3 + k);
                a30 = Vector256.FusedMultiplyAdd(u, v0, a30); a31 = Vector256.FusedMultiplyAdd(u, v1, a31);
                a32 = Vector256.FusedMultiplyAdd(u, v2, a32); a33 = Vector256.FusedMultiplyAdd(u, v3, a33);
            }
            sums[0] = Vector256.Sum(a00); sums[1] = Vector256.Sum(a01); sums[2] = Vector256.Sum(a02); sums[3] = Vector256.Sum(a03);
            sums[4] = Vector256.Sum(a10); sums[5] = Vector256.Sum(a11); sums[6] = Vector256.Sum(a12); sums[7] = Vector256.Sum(a13);
            sums[8] = Vector256.Sum(a20); sums[9] = Vector256.Sum(a21); sums[10] = Vector256.Sum(a22); sums[11] = Vector256.Sum(a23);
            sums[12] = Vector256.Sum(a30); sums[13] = Vector256.Sum(a31); sums[14] = Vector256.Sum(a32); sums[15] = Vector256.Sum(a33);
        }
        else
        {
            sums.Clear();
        }
        for (; k < n; k++)
        {
            for (int i = 0; i < 4; i++)
            {
                float wi = w[i * n + k];
                for (int t = 0; t < 4; t++) sums[i * 4 + t] += wi * x[t * n + k];
            }
        }
        for (int i = 0; i < 4; i++)
            for (int t = 0; t < 4; t++)
                y[t * ldy + i] = sums[i * 4 + t];
    }
}
