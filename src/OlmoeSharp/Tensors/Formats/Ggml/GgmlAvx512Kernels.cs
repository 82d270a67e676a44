using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The integer dot products of <see cref="GgmlAvx2Kernels"/> in 512-bit registers (AVX-512BW): one sub-block or
/// block of 32 values per vector — 32 bytes widened to 32 int16 (<c>vpmovzxbw</c>), one <c>vpmaddwd</c> with the 32
/// activations, one convert and one FMA by the sub-block's factor — half the instructions per value of the 256-bit
/// kernels, which on AVX-512 machines are bound by instruction throughput, not memory. Each block's factor is broadcast
/// from a small stack buffer: a broadcast from memory folds into the FMA as a load, where a permute of a register took
/// port 5, which widening the quants keeps busy (2048 × 2048 in cache, two threads, alternating old/new: Q4_K
/// 148 / 142 → 133 / 129 µs, Q8_0 157 / 131 → 135 / 126, Q5_K 179 / 181 → 177 / 164; the 256-bit kernels, with a
/// third vector port, measured no different within the noise, so they keep their permutes). Q4_0 and Q6_K have none:
/// their 512-bit versions measured no faster than the 256-bit ones (Q4_0's blocks hold 16 bytes, Q6_K's spend the
/// time putting the six bits together), so they use those.
/// </summary>
internal static unsafe class GgmlAvx512Kernels
{
    public static bool IsSupported => Avx512BW.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate(Vector512<int> dot, Vector512<float> factor, Vector512<float> acc) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dot), factor, acc);

    /// <summary>Σ w·x over 32 values as sixteen int32 partial sums; w are 32 unsigned bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot32(Vector256<byte> w, short* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(w), Vector512.Load(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot32(Vector256<sbyte> w, short* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(w), Vector512.Load(x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot32(Vector512<short> w, short* x) => Avx512BW.MultiplyAddAdjacent(w, Vector512.Load(x));

    /// <summary>
    /// 32 bytes of nibbles as two sub-blocks of int16: widened once, then masked (low nibbles) and shifted (high). Splitting
    /// the bytes first and widening each half cost a second <c>vpmovzxbw</c> — a shuffle, on the port the kernel waits on — and a mask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<short> Low, Vector512<short> High) Nibbles(Vector256<byte> q)
    {
        var w = Avx512BW.ConvertToVector512Int16(q);
        return (w & Vector512.Create((short)0x0F), Vector512.ShiftRightLogical(w, 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Low(Vector256<byte> v) => Avx2.And(v, Vector256.Create((byte)0x0F));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> v) => Avx2.And(Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), Vector256.Create((byte)0x0F));

    public static float DotQ8_0(byte* row, int blocks, Int16Activations x)
    {
        Vector512<float> acc0 = default, acc1 = default;
        float* factors = stackalloc float[8];
        int b = 0;
        for (; b + 8 <= blocks; b += 8)
        {
            byte* group = row + b * 34;
            GgmlBits.PrefetchAhead(group, 8 * 34);
            Avx.Store(factors, Avx.Multiply(GgmlAvx2Kernels.Halves8(group, 34), Avx.LoadVector256(x.Scales + b)));
            short* xq = x.Values + b * 32;
            acc0 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 2)), xq), Vector512.Create(factors[0]), acc0);
            acc1 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 36)), xq + 32), Vector512.Create(factors[1]), acc1);
            acc0 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 70)), xq + 64), Vector512.Create(factors[2]), acc0);
            acc1 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 104)), xq + 96), Vector512.Create(factors[3]), acc1);
            acc0 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 138)), xq + 128), Vector512.Create(factors[4]), acc0);
            acc1 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 172)), xq + 160), Vector512.Create(factors[5]), acc1);
            acc0 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 206)), xq + 192), Vector512.Create(factors[6]), acc0);
            acc1 = Accumulate(Dot32(Avx.LoadVector256((sbyte*)(group + 240)), xq + 224), Vector512.Create(factors[7]), acc1);
        }
        float tail = 0;
        for (; b < blocks; b++)
        {
            byte* block = row + b * 34;
            var dot = Dot32(Avx.LoadVector256((sbyte*)(block + 2)), x.Values + b * 32);
            tail += Vector512.Sum(dot) * (GgmlBits.ExactHalf(block) * x.Scales[b]);
        }
        return Vector512.Sum(acc0 + acc1) + tail;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it against the interleaved kernel
    public static float DotQ4_K(byte* row, int superBlocks, Int16Activations x)
    {
        Vector512<float> acc0 = default, acc1 = default;
        Vector256<float> mins = default;
        short* xq = x.Values;
        float* xd = x.Scales, xs = x.Sums;
        float* f = stackalloc float[8];
        for (int s = 0; s < superBlocks; s++, xq += 256)
        {
            byte* block = row + s * 144;
            GgmlBits.PrefetchAhead(block, 144);
            Avx.Store(f, GgmlAvx2Kernels.SubBlockFactors(block, xd + s * 8, xs + s * 8, ref mins));
            var (l0, h0) = Nibbles(Avx.LoadVector256(block + 16));
            var (l1, h1) = Nibbles(Avx.LoadVector256(block + 48));
            var (l2, h2) = Nibbles(Avx.LoadVector256(block + 80));
            var (l3, h3) = Nibbles(Avx.LoadVector256(block + 112));
            acc0 = Accumulate(Dot32(l0, xq), Vector512.Create(f[0]), acc0);
            acc1 = Accumulate(Dot32(h0, xq + 32), Vector512.Create(f[1]), acc1);
            acc0 = Accumulate(Dot32(l1, xq + 64), Vector512.Create(f[2]), acc0);
            acc1 = Accumulate(Dot32(h1, xq + 96), Vector512.Create(f[3]), acc1);
            acc0 = Accumulate(Dot32(l2, xq + 128), Vector512.Create(f[4]), acc0);
            acc1 = Accumulate(Dot32(h2, xq + 160), Vector512.Create(f[5]), acc1);
            acc0 = Accumulate(Dot32(l3, xq + 192), Vector512.Create(f[6]), acc0);
            acc1 = Accumulate(Dot32(h3, xq + 224), Vector512.Create(f[7]), acc1);
        }
        return Vector512.Sum(acc0 + acc1) - Vector256.Sum(mins);
    }

    /// <summary>
    /// <see cref="DotQ4_K"/> of one row with 2–4 tokens at once: each 32 bytes of nibbles are split and widened once
    /// and multiplied by every token's activations, where one token at a time paid the unpacking per token.
    /// </summary>
    public static void DotQ4_KTokens(byte* row, int superBlocks, Int16Activations[] x, int tokens, float* results)
    {
        switch (tokens)
        {
            case 2: DotQ4_KTokens<Two>(row, superBlocks, x, results); break;
            case 3: DotQ4_KTokens<Three>(row, superBlocks, x, results); break;
            default: DotQ4_KTokens<Four>(row, superBlocks, x, results); break;
        }
    }

    private static void DotQ4_KTokens<T>(byte* row, int superBlocks, Int16Activations[] x, float* results) where T : struct, ITokenCount
    {
        Int16Activations x0 = x[0], x1 = x[1], x2 = T.Count > 2 ? x[2] : x0, x3 = T.Count > 3 ? x[3] : x0;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
        // Per token, the eight factors of the current super-block.
        float* f = stackalloc float[32];
        for (int s = 0; s < superBlocks; s++)
        {
            byte* block = row + s * 144;
            GgmlBits.PrefetchAhead(block, 144);
            var (scales, minimums) = GgmlAvx2Kernels.SubBlockScales(block);
            Factors(scales, minimums, x0, s, f, ref m0);
            Factors(scales, minimums, x1, s, f + 8, ref m1);
            if (T.Count > 2) Factors(scales, minimums, x2, s, f + 16, ref m2);
            if (T.Count > 3) Factors(scales, minimums, x3, s, f + 24, ref m3);
            long offset = s * 256;
            // Unrolled so every offset is a constant.
            for (int j = 0; j < 8; j += 2)
            {
                var (low, high) = Nibbles(Avx.LoadVector256(block + 16 + j * 16));
                long at = offset + j * 32;
                a0 = Accumulate(Avx512BW.MultiplyAddAdjacent(low, Vector512.Load(x0.Values + at)), Vector512.Create(f[j]), a0);
                b0 = Accumulate(Avx512BW.MultiplyAddAdjacent(high, Vector512.Load(x0.Values + at + 32)), Vector512.Create(f[j + 1]), b0);
                a1 = Accumulate(Avx512BW.MultiplyAddAdjacent(low, Vector512.Load(x1.Values + at)), Vector512.Create(f[8 + j]), a1);
                b1 = Accumulate(Avx512BW.MultiplyAddAdjacent(high, Vector512.Load(x1.Values + at + 32)), Vector512.Create(f[8 + j + 1]), b1);
                if (T.Count > 2)
                {
                    a2 = Accumulate(Avx512BW.MultiplyAddAdjacent(low, Vector512.Load(x2.Values + at)), Vector512.Create(f[16 + j]), a2);
                    b2 = Accumulate(Avx512BW.MultiplyAddAdjacent(high, Vector512.Load(x2.Values + at + 32)), Vector512.Create(f[16 + j + 1]), b2);
                }
                if (T.Count > 3)
                {
                    a3 = Accumulate(Avx512BW.MultiplyAddAdjacent(low, Vector512.Load(x3.Values + at)), Vector512.Create(f[24 + j]), a3);
                    b3 = Accumulate(Avx512BW.MultiplyAddAdjacent(high, Vector512.Load(x3.Values + at + 32)), Vector512.Create(f[24 + j + 1]), b3);
                }
            }
        }
        results[0] = Vector512.Sum(a0 + b0) - Vector256.Sum(m0);
        results[1] = Vector512.Sum(a1 + b1) - Vector256.Sum(m1);
        if (T.Count > 2) results[2] = Vector512.Sum(a2 + b2) - Vector256.Sum(m2);
        if (T.Count > 3) results[3] = Vector512.Sum(a3 + b3) - Vector256.Sum(m3);
    }

    /// <summary>One token's factors for super-block s (as <see cref="GgmlAvx2Kernels.SubBlockFactors"/>) into <paramref name="factors"/>, its minimums' share added to <paramref name="mins"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Factors(Vector256<float> scales, Vector256<float> minimums, Int16Activations x, int s, float* factors, ref Vector256<float> mins)
    {
        mins = Fma.MultiplyAdd(minimums, Avx.LoadVector256(x.Sums + s * 8), mins);
        Avx.Store(factors, Avx.Multiply(scales, Avx.LoadVector256(x.Scales + s * 8)));
    }

    public static float DotQ5_K(byte* row, int superBlocks, Int16Activations x)
    {
        var bit = Vector256.Create((byte)0x01);
        Vector512<float> acc0 = default, acc1 = default;
        Vector256<float> mins = default;
        short* xq = x.Values;
        float* f = stackalloc float[8];
        for (int s = 0; s < superBlocks; s++, xq += 256)
        {
            byte* block = row + s * 176;
            GgmlBits.PrefetchAhead(block, 176);
            Avx.Store(f, GgmlAvx2Kernels.SubBlockFactors(block, x.Scales + s * 8, x.Sums + s * 8, ref mins));
            var h = Avx.LoadVector256(block + 16);
            for (int j = 0; j < 8; j += 2)
            {
                var q = Avx.LoadVector256(block + 48 + j * 16);
                // The fifth bit of sub-block j is bit j of each high byte: h moves down a bit a sub-block.
                var a = Avx2.Or(Low(q), Fifth(h, bit));
                h = Avx2.ShiftRightLogical(h.AsUInt16(), 1).AsByte();
                var c = Avx2.Or(High(q), Fifth(h, bit));
                h = Avx2.ShiftRightLogical(h.AsUInt16(), 1).AsByte();
                acc0 = Accumulate(Dot32(a, xq + j * 32), Vector512.Create(f[j]), acc0);
                acc1 = Accumulate(Dot32(c, xq + j * 32 + 32), Vector512.Create(f[j + 1]), acc1);
            }
        }
        return Vector512.Sum(acc0 + acc1) - Vector256.Sum(mins);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Fifth(Vector256<byte> high, Vector256<byte> bit) =>
        Avx2.ShiftLeftLogical(Avx2.And(high, bit).AsUInt16(), 4).AsByte();
}
