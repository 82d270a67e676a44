using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static OlmoeSharp.Tensors.Formats.Q6_KInterleaved;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The dot products of one group of 16 interleaved Q6_K rows (<see cref="Q6_KInterleaved"/>) with x quantized to
/// int16, one row per 32-bit lane: per chunk of 32 bytes one sign-extending widen and one <c>vpmaddwd</c> against a
/// broadcast pair of x, summed in int32 over the sub-block of 16 columns; then per sub-block, for all 16 rows, one
/// convert and one multiply-add by d·scale·(x's block scale). The same sums as the row-layout Q6_K kernels, in another order.
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
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d = Vector512.Load((float*)group);
            for (int k = 0; k < 16; k++)
            {
                byte* q = group + QuantsOffset + k * 256;
                short* xk = xq + k * 16;
                var sum = Pair512(q, xk) + Pair512(q + 32, xk + 2);
                sum += Pair512(q + 64, xk + 4) + Pair512(q + 96, xk + 6);
                sum += Pair512(q + 128, xk + 8) + Pair512(q + 160, xk + 10);
                sum += Pair512(q + 192, xk + 12) + Pair512(q + 224, xk + 14);
                var scales = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128((sbyte*)(group + ScalesOffset + k * GroupRows))));
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), d * scales * Vector512.Create(xd[k / 2]), acc);
            }
        }
        return acc;
    }

    /// <summary>One chunk: 16 rows × columns 2p, 2p + 1 against x[2p], x[2p + 1], as 16 int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pair512(byte* chunk, short* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Avx.LoadVector256((sbyte*)chunk)), Vector512.Create(*(int*)x).AsInt16());

    /// <summary>The 256-bit kernel: the group as two halves of eight rows, each chunk's 16 bytes per half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Dot512
    private static void Dot256(byte* group, int superBlocks, Int16Activations x, float* results)
    {
        Vector256<float> acc0 = default, acc1 = default;
        short* xq = x.Values;
        float* xd = x.Scales;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d0 = Avx.LoadVector256((float*)group);
            var d1 = Avx.LoadVector256((float*)group + 8);
            for (int k = 0; k < 16; k++)
            {
                byte* q = group + QuantsOffset + k * 256;
                short* xk = xq + k * 16;
                Vector256<int> sum0 = default, sum1 = default;
                for (int p = 0; p < 8; p++)
                {
                    var pair = Vector256.Create(*(int*)(xk + 2 * p)).AsInt16();
                    sum0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(q + p * 32))), pair);
                    sum1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(q + p * 32 + 16))), pair);
                }
                sbyte* scales = (sbyte*)(group + ScalesOffset + k * GroupRows);
                var factor = Vector256.Create(xd[k / 2]);
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), d0 * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(scales)) * factor, acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), d1 * Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(scales + 8)) * factor, acc1);
            }
        }
        acc0.Store(results);
        acc1.Store(results + 8);
    }
}
