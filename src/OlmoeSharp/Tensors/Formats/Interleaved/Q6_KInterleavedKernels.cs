using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static OlmoeSharp.Tensors.Formats.Q6_KInterleaved;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The dot products of one group of 16 interleaved Q6_K rows (<see cref="Q6_KInterleaved"/>) with x quantized to
/// int16, one row per 32-bit lane: per 8 columns, two chunks of low nibbles and one of top bits widened to 16 bits,
/// put together into the four column pairs' quants (0–63) with shifts and masks, and four <c>vpmaddwd</c> against
/// broadcast pairs of x; per sub-block of 16 columns the quants' offset of 32 is taken off at once (32·Σx, x's
/// <see cref="Int16Activations.HalfSums"/>), then for all 16 rows one convert and one multiply-add by
/// d·scale·(x's block scale). The same integer sums as the row-layout Q6_K kernels, in another order.
/// </summary>
internal static unsafe class Q6_KInterleavedKernels
{
    /// <summary>results[0..16) = the group's 16 rows · x (AVX-512BW, or AVX2 with FMA).</summary>
    public static void DotGroup(byte* group, int superBlocks, Int16Activations x, float* results)
    {
        if (Avx512BW.IsSupported) Dot512(group, superBlocks, x).Store(results);
        else Dot256(group, superBlocks, x, results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) may time it
    private static Vector512<float> Dot512(byte* group, int superBlocks, Int16Activations x)
    {
        Vector512<float> acc = default;
        short* xq = x.Values;
        float* xd = x.Scales;
        int* xs = x.HalfSums;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8, xs += 16)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d = Vector512.Load((float*)group);
            for (int k = 0; k < 16; k++)
            {
                byte* low = group + QuantsOffset + k / 2 * BlockBytes + k % 2 * 128, high = group + QuantsOffset + k / 2 * BlockBytes + HighOffset + k % 2 * 64;
                short* xk = xq + k * 16;
                var sum = Eight512(low, high, xk) + Eight512(low + 64, high + 32, xk + 8) - Vector512.Create(32 * xs[k]);
                var scales = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128((sbyte*)(group + ScalesOffset + k * GroupRows))));
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), d * scales * Vector512.Create(xd[k / 2]), acc);
            }
        }
        return acc;
    }

    /// <summary>
    /// results[16t … 16t + 16) = the group's 16 rows · x[t] for four tokens (AVX-512BW, or AVX2 with FMA), the quants
    /// put together once for the four; each token's sums and factors are its <see cref="DotGroup"/>'s, in its order:
    /// the same bits.
    /// </summary>
    public static void DotGroup4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        if (Avx512BW.IsSupported) Dot512x4(group, superBlocks, x0, x1, x2, x3, results);
        else Dot256x4(group, superBlocks, x0, x1, x2, x3, results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot512x4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d = Vector512.Load((float*)group);
            for (int k = 0; k < 16; k++)
            {
                byte* low = group + QuantsOffset + k / 2 * BlockBytes + k % 2 * 128, high = group + QuantsOffset + k / 2 * BlockBytes + HighOffset + k % 2 * 64;
                int column = s * 256 + k * 16, half = s * 16 + k;
                short* q0 = x0.Values + column, q1 = x1.Values + column, q2 = x2.Values + column, q3 = x3.Values + column;
                Vector512<int> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
                for (int e = 0; e < 2; e++, low += 64, high += 32, q0 += 8, q1 += 8, q2 += 8, q3 += 8)
                {
                    Quants512(low, high, out var p0, out var p1, out var p2, out var p3);
                    sum0 += Sums512(p0, p1, p2, p3, q0);
                    sum1 += Sums512(p0, p1, p2, p3, q1);
                    sum2 += Sums512(p0, p1, p2, p3, q2);
                    sum3 += Sums512(p0, p1, p2, p3, q3);
                }
                var scaled = d * Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128((sbyte*)(group + ScalesOffset + k * GroupRows))));
                acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum0 - Vector512.Create(32 * x0.HalfSums[half])), scaled * Vector512.Create(x0.Scales[half / 2]), acc0);
                acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum1 - Vector512.Create(32 * x1.HalfSums[half])), scaled * Vector512.Create(x1.Scales[half / 2]), acc1);
                acc2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum2 - Vector512.Create(32 * x2.HalfSums[half])), scaled * Vector512.Create(x2.Scales[half / 2]), acc2);
                acc3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum3 - Vector512.Create(32 * x3.HalfSums[half])), scaled * Vector512.Create(x3.Scales[half / 2]), acc3);
            }
        }
        acc0.Store(results);
        acc1.Store(results + GroupRows);
        acc2.Store(results + 2 * GroupRows);
        acc3.Store(results + 3 * GroupRows);
    }

    /// <summary>16 rows × 8 columns (two chunks of low nibbles, one of top bits) against x[0..8), as 16 int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Eight512(byte* low, byte* high, short* x)
    {
        Quants512(low, high, out var p0, out var p1, out var p2, out var p3);
        return Sums512(p0, p1, p2, p3, x);
    }

    /// <summary>The quants (0–63) of 16 rows × the column pairs (0, 1) … (6, 7) of 8 columns, each row's pair in its 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants512(byte* low, byte* high, out Vector512<short> p0, out Vector512<short> p1, out Vector512<short> p2, out Vector512<short> p3)
    {
        var l0 = Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(low));
        var l1 = Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(low + 32));
        var h = Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(high));
        Vector512<short> nibble = Vector512.Create((short)0x0F), top = Vector512.Create((short)0x30);
        p0 = (l0 & nibble) | (Avx512BW.ShiftLeftLogical(h, 4) & top);
        p1 = Avx512BW.ShiftRightLogical(l0, 4) | (Avx512BW.ShiftLeftLogical(h, 2) & top);
        p2 = (l1 & nibble) | (h & top);
        p3 = Avx512BW.ShiftRightLogical(l1, 4) | (Avx512BW.ShiftRightLogical(h, 2) & top);
    }

    /// <summary>The four column pairs' quants against x[0..8): 16 int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Sums512(Vector512<short> p0, Vector512<short> p1, Vector512<short> p2, Vector512<short> p3, short* x) =>
        Avx512BW.MultiplyAddAdjacent(p0, Vector512.Create(*(int*)x).AsInt16()) + Avx512BW.MultiplyAddAdjacent(p1, Vector512.Create(*(int*)(x + 2)).AsInt16())
        + (Avx512BW.MultiplyAddAdjacent(p2, Vector512.Create(*(int*)(x + 4)).AsInt16()) + Avx512BW.MultiplyAddAdjacent(p3, Vector512.Create(*(int*)(x + 6)).AsInt16()));

    /// <summary>The 256-bit kernel: the group as two halves of eight rows, each chunk's 16 bytes per half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Dot512
    private static void Dot256(byte* group, int superBlocks, Int16Activations x, float* results)
    {
        Vector256<float> acc0 = default, acc1 = default;
        short* xq = x.Values;
        float* xd = x.Scales;
        int* xs = x.HalfSums;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8, xs += 16)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d0 = Avx.LoadVector256((float*)group);
            var d1 = Avx.LoadVector256((float*)group + 8);
            for (int k = 0; k < 16; k++)
            {
                byte* low = group + QuantsOffset + k / 2 * BlockBytes + k % 2 * 128, high = group + QuantsOffset + k / 2 * BlockBytes + HighOffset + k % 2 * 64;
                short* xk = xq + k * 16;
                var offset = Vector256.Create(32 * xs[k]);
                var sum0 = Eight256(low, high, xk) + Eight256(low + 64, high + 32, xk + 8) - offset;
                var sum1 = Eight256(low + 16, high + 16, xk) + Eight256(low + 80, high + 48, xk + 8) - offset;
                sbyte* scales = (sbyte*)(group + ScalesOffset + k * GroupRows);
                var factor = Vector256.Create(xd[k / 2]);
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), d0 * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(scales)) * factor, acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), d1 * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(scales + 8)) * factor, acc1);
            }
        }
        acc0.Store(results);
        acc1.Store(results + 8);
    }

    /// <summary>
    /// The 256-bit four-token kernel: one half of eight rows after the other (as <see cref="Q4_KInterleavedKernels"/>'
    /// one), each token's sums and factors <see cref="Dot256"/>'s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot256x4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        for (int h = 0; h < 2; h++)
        {
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            byte* block = group;
            for (int s = 0; s < superBlocks; s++, block += GroupBlockBytes)
            {
                if (h == 0) InterleavedKernels.Prefetch(block, GroupBlockBytes);
                var d = Avx.LoadVector256((float*)block + 8 * h);
                for (int k = 0; k < 16; k++)
                {
                    byte* low = block + QuantsOffset + k / 2 * BlockBytes + k % 2 * 128 + 16 * h, high = block + QuantsOffset + k / 2 * BlockBytes + HighOffset + k % 2 * 64 + 16 * h;
                    int column = s * 256 + k * 16, sub = s * 16 + k;
                    short* q0 = x0.Values + column, q1 = x1.Values + column, q2 = x2.Values + column, q3 = x3.Values + column;
                    Vector256<int> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
                    for (int e = 0; e < 2; e++, low += 64, high += 32, q0 += 8, q1 += 8, q2 += 8, q3 += 8)
                    {
                        Quants256(low, high, out var p0, out var p1, out var p2, out var p3);
                        sum0 += Sums256(p0, p1, p2, p3, q0);
                        sum1 += Sums256(p0, p1, p2, p3, q1);
                        sum2 += Sums256(p0, p1, p2, p3, q2);
                        sum3 += Sums256(p0, p1, p2, p3, q3);
                    }
                    var scaled = d * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32((sbyte*)(block + ScalesOffset + k * GroupRows + 8 * h)));
                    acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0 - Vector256.Create(32 * x0.HalfSums[sub])), scaled * Vector256.Create(x0.Scales[sub / 2]), acc0);
                    acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1 - Vector256.Create(32 * x1.HalfSums[sub])), scaled * Vector256.Create(x1.Scales[sub / 2]), acc1);
                    acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum2 - Vector256.Create(32 * x2.HalfSums[sub])), scaled * Vector256.Create(x2.Scales[sub / 2]), acc2);
                    acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum3 - Vector256.Create(32 * x3.HalfSums[sub])), scaled * Vector256.Create(x3.Scales[sub / 2]), acc3);
                }
            }
            acc0.Store(results + 8 * h);
            acc1.Store(results + GroupRows + 8 * h);
            acc2.Store(results + 2 * GroupRows + 8 * h);
            acc3.Store(results + 3 * GroupRows + 8 * h);
        }
    }

    /// <summary>As <see cref="Eight512"/> for eight rows: the 16 bytes of each chunk at <paramref name="low"/>, <paramref name="low"/> + 32 and <paramref name="high"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Eight256(byte* low, byte* high, short* x)
    {
        Quants256(low, high, out var p0, out var p1, out var p2, out var p3);
        return Sums256(p0, p1, p2, p3, x);
    }

    /// <summary>As <see cref="Quants512"/> for eight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quants256(byte* low, byte* high, out Vector256<short> p0, out Vector256<short> p1, out Vector256<short> p2, out Vector256<short> p3)
    {
        var l0 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(low));
        var l1 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(low + 32));
        var h = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(high));
        Vector256<short> nibble = Vector256.Create((short)0x0F), top = Vector256.Create((short)0x30);
        p0 = (l0 & nibble) | (Avx2.ShiftLeftLogical(h, 4) & top);
        p1 = Avx2.ShiftRightLogical(l0, 4) | (Avx2.ShiftLeftLogical(h, 2) & top);
        p2 = (l1 & nibble) | (h & top);
        p3 = Avx2.ShiftRightLogical(l1, 4) | (Avx2.ShiftRightLogical(h, 2) & top);
    }

    /// <summary>As <see cref="Sums512"/> for eight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Sums256(Vector256<short> p0, Vector256<short> p1, Vector256<short> p2, Vector256<short> p3, short* x) =>
        Avx2.MultiplyAddAdjacent(p0, Vector256.Create(*(int*)x).AsInt16()) + Avx2.MultiplyAddAdjacent(p1, Vector256.Create(*(int*)(x + 2)).AsInt16())
        + (Avx2.MultiplyAddAdjacent(p2, Vector256.Create(*(int*)(x + 4)).AsInt16()) + Avx2.MultiplyAddAdjacent(p3, Vector256.Create(*(int*)(x + 6)).AsInt16()));
}
