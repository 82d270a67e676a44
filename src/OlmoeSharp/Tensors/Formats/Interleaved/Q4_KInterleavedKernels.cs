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
                var sum = NibbleChunks.Dot512(group + QuantsOffset + j * NibbleChunks.Bytes, xq + j * 32);
                var scales = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(group + ScalesOffset + j * GroupRows)));
                var minimums = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(group + MinimumsOffset + j * GroupRows)));
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), d * scales * Vector512.Create(xd[j]), acc);
                mins = Avx512F.FusedMultiplyAdd(dmin * minimums, Vector512.Create(xs[j]), mins);
            }
        }
        return acc - mins;
    }

    /// <summary>
    /// results[16t … 16t + 16) = the group's 16 rows · x[t] for four tokens (AVX-512BW, or AVX2 with FMA), each chunk
    /// widened, masked and shifted once for the four — a batch's tokens or a prompt's cost little more than reading the
    /// group then. Each token's sums and factors are its <see cref="DotGroup"/>'s, in its order: the same bits.
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
        Vector512<float> mins0 = default, mins1 = default, mins2 = default, mins3 = default;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            var d = Vector512.Load((float*)group);
            var dmin = Vector512.Load((float*)(group + DminOffset));
            for (int j = 0; j < 8; j++)
            {
                int b = s * 8 + j;
                NibbleChunks.Dot512x4(group + QuantsOffset + j * NibbleChunks.Bytes, x0.Values + b * 32, x1.Values + b * 32, x2.Values + b * 32, x3.Values + b * 32,
                    out var sum0, out var sum1, out var sum2, out var sum3);
                var scaled = d * Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(group + ScalesOffset + j * GroupRows)));
                var offsets = dmin * Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(group + MinimumsOffset + j * GroupRows)));
                acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum0), scaled * Vector512.Create(x0.Scales[b]), acc0);
                acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum1), scaled * Vector512.Create(x1.Scales[b]), acc1);
                acc2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum2), scaled * Vector512.Create(x2.Scales[b]), acc2);
                acc3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum3), scaled * Vector512.Create(x3.Scales[b]), acc3);
                mins0 = Avx512F.FusedMultiplyAdd(offsets, Vector512.Create(x0.Sums[b]), mins0);
                mins1 = Avx512F.FusedMultiplyAdd(offsets, Vector512.Create(x1.Sums[b]), mins1);
                mins2 = Avx512F.FusedMultiplyAdd(offsets, Vector512.Create(x2.Sums[b]), mins2);
                mins3 = Avx512F.FusedMultiplyAdd(offsets, Vector512.Create(x3.Sums[b]), mins3);
            }
        }
        (acc0 - mins0).Store(results);
        (acc1 - mins1).Store(results + GroupRows);
        (acc2 - mins2).Store(results + 2 * GroupRows);
        (acc3 - mins3).Store(results + 3 * GroupRows);
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
                NibbleChunks.Dot256(group + QuantsOffset + j * NibbleChunks.Bytes, xq + j * 32, out var sum0, out var sum1);
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

    /// <summary>
    /// The 256-bit four-token kernel: one half of eight rows after the other, so that four tokens' accumulators fit the
    /// sixteen registers; the group is read from memory in the first half's pass, from cache in the second.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot256x4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        for (int h = 0; h < 2; h++)
        {
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector256<float> mins0 = default, mins1 = default, mins2 = default, mins3 = default;
            byte* block = group;
            for (int s = 0; s < superBlocks; s++, block += GroupBlockBytes)
            {
                if (h == 0) InterleavedKernels.Prefetch(block, GroupBlockBytes);
                var d = Avx.LoadVector256((float*)block + 8 * h);
                var dmin = Avx.LoadVector256((float*)(block + DminOffset) + 8 * h);
                for (int j = 0; j < 8; j++)
                {
                    int b = s * 8 + j;
                    NibbleChunks.Dot256x4(block + QuantsOffset + j * NibbleChunks.Bytes + 16 * h, x0.Values + b * 32, x1.Values + b * 32, x2.Values + b * 32, x3.Values + b * 32,
                        out var sum0, out var sum1, out var sum2, out var sum3);
                    var scaled = d * Widen8(block + ScalesOffset + j * GroupRows + 8 * h);
                    var offsets = dmin * Widen8(block + MinimumsOffset + j * GroupRows + 8 * h);
                    acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), scaled * Vector256.Create(x0.Scales[b]), acc0);
                    acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), scaled * Vector256.Create(x1.Scales[b]), acc1);
                    acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum2), scaled * Vector256.Create(x2.Scales[b]), acc2);
                    acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum3), scaled * Vector256.Create(x3.Scales[b]), acc3);
                    mins0 = Fma.MultiplyAdd(offsets, Vector256.Create(x0.Sums[b]), mins0);
                    mins1 = Fma.MultiplyAdd(offsets, Vector256.Create(x1.Sums[b]), mins1);
                    mins2 = Fma.MultiplyAdd(offsets, Vector256.Create(x2.Sums[b]), mins2);
                    mins3 = Fma.MultiplyAdd(offsets, Vector256.Create(x3.Sums[b]), mins3);
                }
            }
            (acc0 - mins0).Store(results + 8 * h);
            (acc1 - mins1).Store(results + GroupRows + 8 * h);
            (acc2 - mins2).Store(results + 2 * GroupRows + 8 * h);
            (acc3 - mins3).Store(results + 3 * GroupRows + 8 * h);
        }
    }

    /// <summary>Eight bytes as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen8(byte* bytes) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(bytes));
}
