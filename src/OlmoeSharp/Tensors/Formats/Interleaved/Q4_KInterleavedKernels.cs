using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static OlmoeSharp.Tensors.Formats.Q4_KInterleaved;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The dot products of one group of 16 interleaved Q4_K rows (<see cref="Q4_KInterleaved"/>) with x quantized to
/// int16 (<see cref="Int16Activations"/>), one row per 32-bit lane: per chunk of 32 bytes, one widen, a mask and a
/// shift, and two <c>vpmaddwd</c> against broadcast pairs of x, summed in int32 over the sub-block; then per sub-block,
/// for all 16 rows at once, one convert and one multiply-add by d·scale·(x's block scale), and the minimums' share by
/// dmin·min·(x's block sum). The same sums as <see cref="GgmlAvx512Kernels.DotQ4_K"/>, in another order.
/// </summary>
internal static unsafe class Q4_KInterleavedKernels
{
    /// <summary>results[0..16) = the group's 16 rows · x (AVX-512BW, or AVX2 with FMA).</summary>
    public static void DotGroup(byte* group, int superBlocks, Int16Activations x, float* results)
    {
        if (Avx512BW.IsSupported) Dot512(group, superBlocks, x).Store(results);
        else Dot256(group, superBlocks, x, results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it
    private static Vector512<float> Dot512(byte* group, int superBlocks, Int16Activations x)
    {
        Vector512<float> acc = default, mins = default;
        short* xq = x.Values;
        float* xd = x.Scales, xs = x.Sums;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8, xs += 8)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d = Vector512.Load((float*)group);
            var dmin = Vector512.Load((float*)(group + DminOffset));
            for (int j = 0; j < 8; j++)
            {
                byte* q = group + QuantsOffset + j * 256;
                short* xj = xq + j * 32;
                var sum = Chunk512(q, xj) + Chunk512(q + 32, xj + 4);
                sum += Chunk512(q + 64, xj + 8) + Chunk512(q + 96, xj + 12);
                sum += Chunk512(q + 128, xj + 16) + Chunk512(q + 160, xj + 20);
                sum += Chunk512(q + 192, xj + 24) + Chunk512(q + 224, xj + 28);
                var scales = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(group + ScalesOffset + j * GroupRows)));
                var minimums = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(group + MinimumsOffset + j * GroupRows)));
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), d * scales * Vector512.Create(xd[j]), acc);
                mins = Avx512F.FusedMultiplyAdd(dmin * minimums, Vector512.Create(xs[j]), mins);
            }
        }
        return acc - mins;
    }

    /// <summary>One chunk: 16 rows × columns 4c … 4c + 3 against x[4c … 4c + 3], as 16 int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunk512(byte* chunk, short* x)
    {
        var w = Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(chunk));
        return Avx512BW.MultiplyAddAdjacent(w & Vector512.Create((short)0x0F), Vector512.Create(*(int*)x).AsInt16())
             + Avx512BW.MultiplyAddAdjacent(Avx512BW.ShiftRightLogical(w, 4), Vector512.Create(*(int*)(x + 2)).AsInt16());
    }

    /// <summary>The 256-bit kernel: the group as two halves of eight rows, each chunk's 16 bytes per half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Dot512
    private static void Dot256(byte* group, int superBlocks, Int16Activations x, float* results)
    {
        Vector256<float> acc0 = default, acc1 = default, mins0 = default, mins1 = default;
        short* xq = x.Values;
        float* xd = x.Scales, xs = x.Sums;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8, xs += 8)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d0 = Avx.LoadVector256((float*)group);
            var d1 = Avx.LoadVector256((float*)group + 8);
            var dmin0 = Avx.LoadVector256((float*)(group + DminOffset));
            var dmin1 = Avx.LoadVector256((float*)(group + DminOffset) + 8);
            for (int j = 0; j < 8; j++)
            {
                byte* q = group + QuantsOffset + j * 256;
                short* xj = xq + j * 32;
                Vector256<int> sum0 = default, sum1 = default;
                for (int c = 0; c < 8; c++)
                {
                    var pairLow = Vector256.Create(*(int*)(xj + 4 * c)).AsInt16();
                    var pairHigh = Vector256.Create(*(int*)(xj + 4 * c + 2)).AsInt16();
                    sum0 += Chunk256(q + c * 32, pairLow, pairHigh);
                    sum1 += Chunk256(q + c * 32 + 16, pairLow, pairHigh);
                }
                byte* scales = group + ScalesOffset + j * GroupRows, minimums = group + MinimumsOffset + j * GroupRows;
                var factor = Vector256.Create(xd[j]);
                var sumOfMinimums = Vector256.Create(xs[j]);
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), d0 * Widen8(scales) * factor, acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), d1 * Widen8(scales + 8) * factor, acc1);
                mins0 = Fma.MultiplyAdd(dmin0 * Widen8(minimums), sumOfMinimums, mins0);
                mins1 = Fma.MultiplyAdd(dmin1 * Widen8(minimums + 8), sumOfMinimums, mins1);
            }
        }
        (acc0 - mins0).Store(results);
        (acc1 - mins1).Store(results + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Chunk256(byte* half, Vector256<short> pairLow, Vector256<short> pairHigh)
    {
        var w = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(half));
        return Avx2.MultiplyAddAdjacent(w & Vector256.Create((short)0x0F), pairLow) + Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(w, 4), pairHigh);
    }

    /// <summary>Eight bytes as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen8(byte* bytes) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(bytes));
}
