using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static OlmoeSharp.Tensors.Formats.Q4_0Interleaved;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The dot products of one group of 16 interleaved Q4_0 rows (<see cref="Q4_0Interleaved"/>) with x quantized to
/// int16, one row per 32-bit lane: Σ q·x per block in int32 (<see cref="NibbleChunks"/>), then for all 16 rows one
/// convert and one multiply-add by d·(x's block scale), the offset 8·d·(x's block sum) taken off at the end — the same
/// sums as the row-layout Q4_0 kernels, in another order.
/// </summary>
internal static unsafe class Q4_0InterleavedKernels
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
        Vector512<float> acc = default, offsets = default;
        short* xq = x.Values;
        float* xd = x.Scales, xs = x.Sums;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8, xs += 8)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            for (int j = 0; j < 8; j++)
            {
                var d = Vector512.Load((float*)group + j * GroupRows);
                var sum = NibbleChunks.Dot512(group + QuantsOffset + j * NibbleChunks.Bytes, xq + j * 32);
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), d * Vector512.Create(xd[j]), acc);
                offsets = Avx512F.FusedMultiplyAdd(d, Vector512.Create(xs[j]), offsets);
            }
        }
        return acc - offsets * Vector512.Create(8f);
    }

    /// <summary>results[16t … 16t + 16) = the group's 16 rows · x[t] for four tokens (AVX-512BW, or AVX2 with FMA), the nibbles decoded once for the four; each token's sums and factors are its <see cref="DotGroup"/>'s, in its order.</summary>
    public static void DotGroup4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        if (Avx512BW.IsSupported) Dot512x4(group, superBlocks, x0, x1, x2, x3, results);
        else Dot256x4(group, superBlocks, x0, x1, x2, x3, results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot512x4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector512<float> offsets0 = default, offsets1 = default, offsets2 = default, offsets3 = default;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            for (int j = 0; j < 8; j++)
            {
                int b = s * 8 + j;
                var d = Vector512.Load((float*)group + j * GroupRows);
                NibbleChunks.Dot512x4(group + QuantsOffset + j * NibbleChunks.Bytes, x0.Values + b * 32, x1.Values + b * 32, x2.Values + b * 32, x3.Values + b * 32,
                    out var sum0, out var sum1, out var sum2, out var sum3);
                acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum0), d * Vector512.Create(x0.Scales[b]), acc0);
                acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum1), d * Vector512.Create(x1.Scales[b]), acc1);
                acc2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum2), d * Vector512.Create(x2.Scales[b]), acc2);
                acc3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum3), d * Vector512.Create(x3.Scales[b]), acc3);
                offsets0 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(x0.Sums[b]), offsets0);
                offsets1 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(x1.Sums[b]), offsets1);
                offsets2 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(x2.Sums[b]), offsets2);
                offsets3 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(x3.Sums[b]), offsets3);
            }
        }
        var eight = Vector512.Create(8f);
        (acc0 - offsets0 * eight).Store(results);
        (acc1 - offsets1 * eight).Store(results + GroupRows);
        (acc2 - offsets2 * eight).Store(results + 2 * GroupRows);
        (acc3 - offsets3 * eight).Store(results + 3 * GroupRows);
    }

    /// <summary>The 256-bit kernel: the group as two halves of eight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Dot512
    private static void Dot256(byte* group, int superBlocks, Int16Activations x, float* results)
    {
        Vector256<float> acc0 = default, acc1 = default, offsets0 = default, offsets1 = default;
        short* xq = x.Values;
        float* xd = x.Scales, xs = x.Sums;
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes, xq += 256, xd += 8, xs += 8)
        {
            InterleavedKernels.Prefetch(group, GroupBlockBytes);
            for (int j = 0; j < 8; j++)
            {
                var d0 = Avx.LoadVector256((float*)group + j * GroupRows);
                var d1 = Avx.LoadVector256((float*)group + j * GroupRows + 8);
                NibbleChunks.Dot256(group + QuantsOffset + j * NibbleChunks.Bytes, xq + j * 32, out var sum0, out var sum1);
                var factor = Vector256.Create(xd[j]);
                var blockSum = Vector256.Create(xs[j]);
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), d0 * factor, acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), d1 * factor, acc1);
                offsets0 = Fma.MultiplyAdd(d0, blockSum, offsets0);
                offsets1 = Fma.MultiplyAdd(d1, blockSum, offsets1);
            }
        }
        (acc0 - offsets0 * Vector256.Create(8f)).Store(results);
        (acc1 - offsets1 * Vector256.Create(8f)).Store(results + 8);
    }

    /// <summary>The 256-bit four-token kernel: one half of eight rows after the other (as <see cref="Q4_KInterleavedKernels"/>' one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot256x4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results)
    {
        for (int h = 0; h < 2; h++)
        {
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector256<float> offsets0 = default, offsets1 = default, offsets2 = default, offsets3 = default;
            byte* block = group;
            for (int s = 0; s < superBlocks; s++, block += GroupBlockBytes)
            {
                if (h == 0) InterleavedKernels.Prefetch(block, GroupBlockBytes);
                for (int j = 0; j < 8; j++)
                {
                    int b = s * 8 + j;
                    var d = Avx.LoadVector256((float*)block + j * GroupRows + 8 * h);
                    NibbleChunks.Dot256x4(block + QuantsOffset + j * NibbleChunks.Bytes + 16 * h, x0.Values + b * 32, x1.Values + b * 32, x2.Values + b * 32, x3.Values + b * 32,
                        out var sum0, out var sum1, out var sum2, out var sum3);
                    acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0), d * Vector256.Create(x0.Scales[b]), acc0);
                    acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1), d * Vector256.Create(x1.Scales[b]), acc1);
                    acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum2), d * Vector256.Create(x2.Scales[b]), acc2);
                    acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum3), d * Vector256.Create(x3.Scales[b]), acc3);
                    offsets0 = Fma.MultiplyAdd(d, Vector256.Create(x0.Sums[b]), offsets0);
                    offsets1 = Fma.MultiplyAdd(d, Vector256.Create(x1.Sums[b]), offsets1);
                    offsets2 = Fma.MultiplyAdd(d, Vector256.Create(x2.Sums[b]), offsets2);
                    offsets3 = Fma.MultiplyAdd(d, Vector256.Create(x3.Sums[b]), offsets3);
                }
            }
            var eight = Vector256.Create(8f);
            (acc0 - offsets0 * eight).Store(results + 8 * h);
            (acc1 - offsets1 * eight).Store(results + GroupRows + 8 * h);
            (acc2 - offsets2 * eight).Store(results + 2 * GroupRows + 8 * h);
            (acc3 - offsets3 * eight).Store(results + 3 * GroupRows + 8 * h);
        }
    }
}
