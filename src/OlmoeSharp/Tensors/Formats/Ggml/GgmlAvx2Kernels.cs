using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Integer dot products of one ggml row with <see cref="Int16Activations"/> on AVX2, for the formats that decode most
/// tokens (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K). Per 16 values: unpack the quants to bytes, widen them to int16
/// (<c>vpmovzxbw</c>, in order), multiply by the int16 activations and sum pairs into int32 (<c>vpmaddwd</c>),
/// convert, and accumulate times the block's float scale. Offsets and minimums (Q4_0's −8, the K-quants' mins) come
/// out of the activation sums, not the vectors. No products can overflow: |weight| ≤ 128 and |x| ≤ 32767 give pair
/// sums under 2^23.
/// </summary>
internal static unsafe class GgmlAvx2Kernels
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Σ over 16 values of w·x as eight int32 partial sums; w are 16 unsigned bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot16(Vector128<byte> w, short* x) =>
        Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w), Avx.LoadVector256(x));

    /// <summary>As <see cref="Dot16(Vector128{byte}, short*)"/> for 16 signed bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot16(Vector128<sbyte> w, short* x) =>
        Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w), Avx.LoadVector256(x));

    /// <summary>Σ over 16 values of w·x as eight int32 partial sums; w already widened to int16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot16(Vector256<short> w, short* x) => Avx2.MultiplyAddAdjacent(w, Avx.LoadVector256(x));

    /// <summary>
    /// 16 bytes of nibbles as int16: widened once, then masked (low nibbles) and shifted (high nibbles). Splitting the
    /// bytes first and widening each half cost a second <c>vpmovzxbw</c> (a shuffle) and a mask per 16 bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short> Low, Vector256<short> High) Nibbles(Vector128<byte> q)
    {
        var w = Avx2.ConvertToVector256Int16(q);
        return (Avx2.And(w, Vector256.Create((short)0x0F)), Avx2.ShiftRightLogical(w, 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Accumulate(Vector256<int> dot, float scale, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(scale), acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(Vector256<float> v)
    {
        var s = Sse.Add(v.GetLower(), v.GetUpper());
        s = Sse.Add(s, Sse.MoveHighToLow(s, s));
        s = Sse.AddScalar(s, Sse.Shuffle(s, s, 1));
        return s.ToScalar();
    }

    /// <summary>The fp16 scales of eight consecutive blocks <paramref name="stride"/> bytes apart, widened exactly (<see cref="GgmlBits.ExactHalves"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Halves8(byte* first, int stride)
    {
        var h = Vector128.Create(*(ushort*)first, *(ushort*)(first + stride), *(ushort*)(first + 2 * stride), *(ushort*)(first + 3 * stride),
            *(ushort*)(first + 4 * stride), *(ushort*)(first + 5 * stride), *(ushort*)(first + 6 * stride), *(ushort*)(first + 7 * stride));
        return GgmlBits.ExactHalves(Avx2.ConvertToVector256Int32(h));
    }

    public static float DotQ8_0(byte* row, int blocks, Int16Activations x)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int b = 0;
        for (; b + 8 <= blocks; b += 8)
        {
            byte* group = row + b * 34;
            GgmlBits.PrefetchAhead(group, 8 * 34);
            var factors = Avx.Multiply(Halves8(group, 34), Avx.LoadVector256(x.Scales + b));
            for (int k = 0; k < 8; k += 2)
            {
                byte* b0 = group + k * 34, b1 = b0 + 34;
                short* x0 = x.Values + (b + k) * 32;
                var dot0 = Avx2.Add(Dot16(Sse2.LoadVector128((sbyte*)(b0 + 2)), x0), Dot16(Sse2.LoadVector128((sbyte*)(b0 + 18)), x0 + 16));
                var dot1 = Avx2.Add(Dot16(Sse2.LoadVector128((sbyte*)(b1 + 2)), x0 + 32), Dot16(Sse2.LoadVector128((sbyte*)(b1 + 18)), x0 + 48));
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot0), Lane(factors, k), acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot1), Lane(factors, k + 1), acc1);
            }
        }
        for (; b < blocks; b++)
        {
            byte* block = row + b * 34;
            short* xq = x.Values + b * 32;
            var dot = Avx2.Add(Dot16(Sse2.LoadVector128((sbyte*)(block + 2)), xq), Dot16(Sse2.LoadVector128((sbyte*)(block + 18)), xq + 16));
            acc0 = Accumulate(dot, GgmlBits.ExactHalf(block) * x.Scales[b], acc0);
        }
        return Sum(Avx.Add(acc0, acc1));
    }

    public static float DotQ4_0(byte* row, int blocks, Int16Activations x)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, offsets = Vector256<float>.Zero;
        float offset = 0;
        int b = 0;
        for (; b + 8 <= blocks; b += 8)
        {
            byte* group = row + b * 18;
            GgmlBits.PrefetchAhead(group, 8 * 18);
            var d = Halves8(group, 18);
            var factors = Avx.Multiply(d, Avx.LoadVector256(x.Scales + b));
            offsets = Fma.MultiplyAdd(d, Avx.LoadVector256(x.Sums + b), offsets);
            for (int k = 0; k < 8; k += 2)
            {
                var (l0, h0) = Nibbles(Sse2.LoadVector128(group + k * 18 + 2));
                var (l1, h1) = Nibbles(Sse2.LoadVector128(group + k * 18 + 20));
                short* x0 = x.Values + (b + k) * 32;
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(Dot16(l0, x0), Dot16(h0, x0 + 16))), Lane(factors, k), acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(Dot16(l1, x0 + 32), Dot16(h1, x0 + 48))), Lane(factors, k + 1), acc1);
            }
        }
        for (; b < blocks; b++)
        {
            byte* block = row + b * 18;
            float d = GgmlBits.ExactHalf(block);
            var (low, high) = Nibbles(Sse2.LoadVector128(block + 2));
            short* xq = x.Values + b * 32;
            acc0 = Accumulate(Avx2.Add(Dot16(low, xq), Dot16(high, xq + 16)), d * x.Scales[b], acc0);
            offset += d * x.Sums[b];
        }
        return Sum(Avx.Add(acc0, acc1)) - 8 * (Sum(offsets) + offset);
    }

    /// <summary>
    /// A K-quant super-block's per-sub-block factors: d·scale·(x's block scale) for the eight sub-blocks, and the
    /// minimums' contribution dmin·Σ min·(x's block sum) added to <paramref name="mins"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> SubBlockFactors(byte* block, float* xd, float* xs, ref Vector256<float> mins)
    {
        var (scales, minimums) = SubBlockScales(block);
        mins = Fma.MultiplyAdd(minimums, Avx.LoadVector256(xs), mins);
        return Avx.Multiply(scales, Avx.LoadVector256(xd));
    }

    /// <summary>A K-quant super-block's d·scale and dmin·min for its eight sub-blocks, before x's block scales and sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<float> Scales, Vector256<float> Minimums) SubBlockScales(byte* block)
    {
        var head = Sse2.LoadVector128(block).AsUInt32();
        var both = KQuantScales.Unpack(head);
        var scales = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(both));
        var minimums = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(both, 8)));
        // d and dmin widened together in lanes 0 and 1, in vector registers: the two scalar widenings cost more than the rest.
        var halves = GgmlBits.ExactHalves(Avx2.ConvertToVector256Int32(head.AsUInt16()));
        return (Avx.Multiply(Avx2.BroadcastScalarToVector256(halves.GetLower()), scales), Avx.Multiply(Avx2.PermuteVar8x32(halves, Vector256.Create(1)), minimums));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lane(Vector256<float> v, int i) => Avx2.PermuteVar8x32(v, Vector256.Create(i));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it against the interleaved kernel
    public static float DotQ4_K(byte* row, int superBlocks, Int16Activations x)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, mins = Vector256<float>.Zero;
        short* xq = x.Values;
        for (int s = 0; s < superBlocks; s++, xq += 256)
        {
            byte* block = row + s * 144;
            GgmlBits.PrefetchAhead(block, 144);
            var factors = SubBlockFactors(block, x.Scales + s * 8, x.Sums + s * 8, ref mins);
            // Unrolled so the factor permutes take constant vectors.
            Q4Pair(block + 16, xq, factors, 0, ref acc0, ref acc1);
            Q4Pair(block + 16, xq, factors, 2, ref acc0, ref acc1);
            Q4Pair(block + 16, xq, factors, 4, ref acc0, ref acc1);
            Q4Pair(block + 16, xq, factors, 6, ref acc0, ref acc1);
        }
        return Sum(Avx.Add(acc0, acc1)) - Sum(mins);
    }

    /// <summary>
    /// <see cref="DotQ4_K"/> of one row with 2–4 tokens at once: each 32 bytes of nibbles are split and widened once
    /// and multiplied by every token's activations, each token's sums kept as <see cref="DotQ4_K"/> keeps them (so
    /// each result is that kernel's, bit for bit). The factors and minimums wait in memory, not in the sixteen registers.
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
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        // Per token: the eight factors of the current super-block (broadcast from here), and the minimums' running sum.
        float* factors = stackalloc float[32];
        var mins = stackalloc Vector256<float>[4];
        for (int t = 0; t < 4; t++) mins[t] = Vector256<float>.Zero;
        for (int s = 0; s < superBlocks; s++)
        {
            byte* block = row + s * 144;
            GgmlBits.PrefetchAhead(block, 144);
            var (scales, minimums) = SubBlockScales(block);
            TokenFactors(scales, minimums, x0, s, factors, mins);
            TokenFactors(scales, minimums, x1, s, factors + 8, mins + 1);
            if (T.Count > 2) TokenFactors(scales, minimums, x2, s, factors + 16, mins + 2);
            if (T.Count > 3) TokenFactors(scales, minimums, x3, s, factors + 24, mins + 3);
            short* v0 = x0.Values + s * 256, v1 = x1.Values + s * 256, v2 = x2.Values + s * 256, v3 = x3.Values + s * 256;
            for (int j = 0; j < 8; j += 2)
            {
                var (l0, h0) = Nibbles(Sse2.LoadVector128(block + 16 + j * 16));
                var (l1, h1) = Nibbles(Sse2.LoadVector128(block + 32 + j * 16));
                Q4Tokens<T>(l0, l1, v0, v1, v2, v3, j * 32, factors, j, ref a0, ref a1, ref a2, ref a3);
                Q4Tokens<T>(h0, h1, v0, v1, v2, v3, j * 32 + 32, factors, j + 1, ref b0, ref b1, ref b2, ref b3);
            }
        }
        results[0] = Sum(Avx.Add(a0, b0)) - Sum(mins[0]);
        results[1] = Sum(Avx.Add(a1, b1)) - Sum(mins[1]);
        if (T.Count > 2) results[2] = Sum(Avx.Add(a2, b2)) - Sum(mins[2]);
        if (T.Count > 3) results[3] = Sum(Avx.Add(a3, b3)) - Sum(mins[3]);
    }

    /// <summary>One token's factors for super-block s into <paramref name="factors"/>, its minimums' share added to *<paramref name="mins"/> (as <see cref="SubBlockFactors"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TokenFactors(Vector256<float> scales, Vector256<float> minimums, Int16Activations x, int s, float* factors, Vector256<float>* mins)
    {
        *mins = Fma.MultiplyAdd(minimums, Avx.LoadVector256(x.Sums + s * 8), *mins);
        Avx.Multiply(scales, Avx.LoadVector256(x.Scales + s * 8)).Store(factors);
    }

    /// <summary>One sub-block (32 quants widened to int16, as two halves of 16) against every token's activations at <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4Tokens<T>(Vector256<short> w0, Vector256<short> w1, short* x0, short* x1, short* x2, short* x3, int at, float* factors, int j,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2, ref Vector256<float> a3) where T : struct, ITokenCount
    {
        a0 = Q4Token(w0, w1, x0 + at, factors[j], a0);
        a1 = Q4Token(w0, w1, x1 + at, factors[8 + j], a1);
        if (T.Count > 2) a2 = Q4Token(w0, w1, x2 + at, factors[16 + j], a2);
        if (T.Count > 3) a3 = Q4Token(w0, w1, x3 + at, factors[24 + j], a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q4Token(Vector256<short> w0, Vector256<short> w1, short* x, float factor, Vector256<float> acc)
    {
        var dot = Avx2.Add(Avx2.MultiplyAddAdjacent(w0, Avx.LoadVector256(x)), Avx2.MultiplyAddAdjacent(w1, Avx.LoadVector256(x + 16)));
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(factor), acc);
    }

    /// <summary>Sub-blocks j and j + 1 of a Q4_K super-block: 32 bytes whose low nibbles are the one, high nibbles the other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4Pair(byte* quants, short* xq, Vector256<float> factors, int j, ref Vector256<float> acc0, ref Vector256<float> acc1)
    {
        var (l0, h0) = Nibbles(Sse2.LoadVector128(quants + j * 16));
        var (l1, h1) = Nibbles(Sse2.LoadVector128(quants + j * 16 + 16));
        short* x0 = xq + j * 32;
        acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(Dot16(l0, x0), Dot16(l1, x0 + 16))), Lane(factors, j), acc0);
        acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(Dot16(h0, x0 + 32), Dot16(h1, x0 + 48))), Lane(factors, j + 1), acc1);
    }

    public static float DotQ5_K(byte* row, int superBlocks, Int16Activations x)
    {
        var bit = Vector128.Create((byte)0x01);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero, mins = Vector256<float>.Zero;
        short* xq = x.Values;
        for (int s = 0; s < superBlocks; s++, xq += 256)
        {
            byte* block = row + s * 176;
            GgmlBits.PrefetchAhead(block, 176);
            var factors = SubBlockFactors(block, x.Scales + s * 8, x.Sums + s * 8, ref mins);
            var h0 = Sse2.LoadVector128(block + 16);
            var h1 = Sse2.LoadVector128(block + 32);
            for (int j = 0; j < 8; j += 2)
            {
                var q0 = Sse2.LoadVector128(block + 48 + j * 16);
                var q1 = Sse2.LoadVector128(block + 64 + j * 16);
                // The fifth bit of sub-block j is bit j of each high byte: h moves down a bit a sub-block, so bit 0
                // is the current one's, masked and moved to bit 4.
                var a0 = Sse2.Or(GgmlBits.Low(q0), GgmlBits.Fifth(h0, bit)); var a1 = Sse2.Or(GgmlBits.Low(q1), GgmlBits.Fifth(h1, bit));
                h0 = Sse2.ShiftRightLogical(h0.AsUInt16(), 1).AsByte(); h1 = Sse2.ShiftRightLogical(h1.AsUInt16(), 1).AsByte();
                var b0 = Sse2.Or(GgmlBits.High(q0), GgmlBits.Fifth(h0, bit)); var b1 = Sse2.Or(GgmlBits.High(q1), GgmlBits.Fifth(h1, bit));
                h0 = Sse2.ShiftRightLogical(h0.AsUInt16(), 1).AsByte(); h1 = Sse2.ShiftRightLogical(h1.AsUInt16(), 1).AsByte();
                short* x0 = xq + j * 32;
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(Dot16(a0, x0), Dot16(a1, x0 + 16))), Lane(factors, j), acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(Dot16(b0, x0 + 32), Dot16(b1, x0 + 48))), Lane(factors, j + 1), acc1);
            }
        }
        return Sum(Avx.Add(acc0, acc1)) - Sum(mins);
    }

    public static float DotQ6_K(byte* row, int superBlocks, Int16Activations x)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        short* scales = stackalloc short[16];
        for (int s = 0; s < superBlocks; s++)
        {
            byte* block = row + s * 210;
            GgmlBits.PrefetchAhead(block, 210);
            short* xq = x.Values + s * 256;
            var f = Avx.Multiply(Vector256.Create(GgmlBits.ExactHalf(block + 208)), Avx.LoadVector256(x.Scales + s * 8));
            Q6Scales(block, scales);
            // Unrolled so every index is a constant: no branches, and the factor permutes take constant vectors.
            Q6Half(block, xq, scales, f, 0, ref acc0, ref acc1);
            Q6Half(block, xq, scales, f, 1, ref acc0, ref acc1);
        }
        return Sum(Avx.Add(acc0, acc1));
    }

    /// <summary>Half <paramref name="half"/> (128 values) of a Q6_K super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6Half(byte* block, short* xq, short* scales, Vector256<float> f, int half, ref Vector256<float> acc0, ref Vector256<float> acc1)
    {
        var (q0, q1, q2, q3) = Q6Quants(block, half);
        acc0 = Q6Group(q0, xq, scales, f, half * 4, acc0);
        acc1 = Q6Group(q1, xq, scales, f, half * 4 + 1, acc1);
        acc0 = Q6Group(q2, xq, scales, f, half * 4 + 2, acc0);
        acc1 = Q6Group(q3, xq, scales, f, half * 4 + 3, acc1);
    }

    /// <summary>
    /// A Q6_K super-block's sixteen 8-bit scales sign-extended to int16 into <paramref name="scales"/>, whence each is
    /// broadcast as a load (<c>vpbroadcastw</c> from memory); sign-extending each from its byte took three instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6Scales(byte* block, short* scales) => Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(block + 192))).Store(scales);

    /// <summary>
    /// The 128 six-bit quants (0–63) of half <paramref name="half"/> of a Q6_K super-block as four vectors, values
    /// 32k … 32k + 31 of the half in vector k: a nibble of ql (bytes 32·(k % 2)…, high nibbles for k ≥ 2) below bits
    /// 2k..2k+1 of qh.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte>, Vector256<byte>, Vector256<byte>, Vector256<byte>) Q6Quants(byte* block, int half)
    {
        var mask = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)0x03);
        var qh = Avx.LoadVector256(block + 128 + half * 32);
        var ql0 = Avx.LoadVector256(block + half * 64);
        var ql1 = Avx.LoadVector256(block + half * 64 + 32);
        var high0 = Avx2.ShiftLeftLogical(Avx2.And(qh, three).AsUInt16(), 4).AsByte();
        var high1 = Avx2.ShiftLeftLogical(Avx2.And(Avx2.ShiftRightLogical(qh.AsUInt16(), 2).AsByte(), three).AsUInt16(), 4).AsByte();
        var high2 = Avx2.And(qh, Vector256.Create((byte)0x30));
        var high3 = Avx2.And(Avx2.ShiftRightLogical(qh.AsUInt16(), 2).AsByte(), Vector256.Create((byte)0x30));
        return (Avx2.Or(Avx2.And(ql0, mask), high0), Avx2.Or(Avx2.And(ql1, mask), high1),
                Avx2.Or(Avx2.And(Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte(), mask), high2),
                Avx2.Or(Avx2.And(Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte(), mask), high3));
    }

    /// <summary>
    /// <see cref="DotQ6_K"/> of one row with 2–4 tokens at once: the six-bit quants are put together, widened and
    /// scaled once and multiplied by every token's activations, each token's sums kept as <see cref="DotQ6_K"/> keeps
    /// them (so each result is that kernel's, bit for bit).
    /// </summary>
    public static void DotQ6_KTokens(byte* row, int superBlocks, Int16Activations[] x, int tokens, float* results)
    {
        switch (tokens)
        {
            case 2: DotQ6_KTokens<Two>(row, superBlocks, x, results); break;
            case 3: DotQ6_KTokens<Three>(row, superBlocks, x, results); break;
            default: DotQ6_KTokens<Four>(row, superBlocks, x, results); break;
        }
    }

    private static void DotQ6_KTokens<T>(byte* row, int superBlocks, Int16Activations[] x, float* results) where T : struct, ITokenCount
    {
        Int16Activations x0 = x[0], x1 = x[1], x2 = T.Count > 2 ? x[2] : x0, x3 = T.Count > 3 ? x[3] : x0;
        // Even and odd groups of 32 apart, per token, as DotQ6_K sums them.
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        // Per token, the eight factors d·(x's block scale) of the current super-block, broadcast from here.
        float* factors = stackalloc float[32];
        short* scales = stackalloc short[16];
        for (int s = 0; s < superBlocks; s++)
        {
            byte* block = row + s * 210;
            GgmlBits.PrefetchAhead(block, 210);
            Q6Scales(block, scales);
            var d = Vector256.Create(GgmlBits.ExactHalf(block + 208));
            Avx.Multiply(d, Avx.LoadVector256(x0.Scales + s * 8)).Store(factors);
            Avx.Multiply(d, Avx.LoadVector256(x1.Scales + s * 8)).Store(factors + 8);
            if (T.Count > 2) Avx.Multiply(d, Avx.LoadVector256(x2.Scales + s * 8)).Store(factors + 16);
            if (T.Count > 3) Avx.Multiply(d, Avx.LoadVector256(x3.Scales + s * 8)).Store(factors + 24);
            short* v0 = x0.Values + s * 256, v1 = x1.Values + s * 256, v2 = x2.Values + s * 256, v3 = x3.Values + s * 256;
            for (int half = 0; half < 2; half++)
            {
                var (q0, q1, q2, q3) = Q6Quants(block, half);
                Q6GroupTokens<T>(q0, scales, v0, v1, v2, v3, factors, half * 4, ref a0, ref a1, ref a2, ref a3);
                Q6GroupTokens<T>(q1, scales, v0, v1, v2, v3, factors, half * 4 + 1, ref b0, ref b1, ref b2, ref b3);
                Q6GroupTokens<T>(q2, scales, v0, v1, v2, v3, factors, half * 4 + 2, ref a0, ref a1, ref a2, ref a3);
                Q6GroupTokens<T>(q3, scales, v0, v1, v2, v3, factors, half * 4 + 3, ref b0, ref b1, ref b2, ref b3);
            }
        }
        results[0] = Sum(Avx.Add(a0, b0));
        results[1] = Sum(Avx.Add(a1, b1));
        if (T.Count > 2) results[2] = Sum(Avx.Add(a2, b2));
        if (T.Count > 3) results[3] = Sum(Avx.Add(a3, b3));
    }

    /// <summary><see cref="Q6Group"/> for every token: token t's products with the 32 quants into a_t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6GroupTokens<T>(Vector256<byte> q, short* scales, short* x0, short* x1, short* x2, short* x3, float* factors, int block32,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2, ref Vector256<float> a3) where T : struct, ITokenCount
    {
        var (w0, w1) = Q6Weights(q, scales, block32);
        int at = block32 * 32;
        a0 = Q6Token(w0, w1, x0 + at, factors[block32], a0);
        a1 = Q6Token(w0, w1, x1 + at, factors[8 + block32], a1);
        if (T.Count > 2) a2 = Q6Token(w0, w1, x2 + at, factors[16 + block32], a2);
        if (T.Count > 3) a3 = Q6Token(w0, w1, x3 + at, factors[24 + block32], a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q6Token(Vector256<short> w0, Vector256<short> w1, short* x, float factor, Vector256<float> acc)
    {
        var dot = Avx2.Add(Avx2.MultiplyAddAdjacent(w0, Avx.LoadVector256(x)), Avx2.MultiplyAddAdjacent(w1, Avx.LoadVector256(x + 16)));
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Vector256.Create(factor), acc);
    }

    /// <summary>
    /// The 32 quants of block <paramref name="block32"/> as int16 weights (q − 32)·scale, one vector per 16-value
    /// sub-block; 32 is taken off the bytes, once for both halves, and they are then widened with their signs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<short>, Vector256<short>) Q6Weights(Vector256<byte> q, short* scales, int block32)
    {
        var centred = Avx2.Subtract(q, Vector256.Create((byte)32)).AsSByte();
        return (Avx2.MultiplyLow(Avx2.ConvertToVector256Int16(centred.GetLower()), Vector256.Create(scales[2 * block32])),
                Avx2.MultiplyLow(Avx2.ConvertToVector256Int16(centred.GetUpper()), Vector256.Create(scales[2 * block32 + 1])));
    }

    /// <summary>
    /// 32 six-bit quants (0–63) of block <paramref name="block32"/> of the super-block against x: each 16-value half
    /// is one sub-block, whose int16 weights (q − 32) are multiplied by its scale first (|q − 32|·|scale| ≤ 4096 fits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q6Group(Vector256<byte> q, short* xq, short* scales, Vector256<float> f, int block32, Vector256<float> acc)
    {
        short* x0 = xq + block32 * 32;
        var (w0, w1) = Q6Weights(q, scales, block32);
        var dot = Avx2.Add(Avx2.MultiplyAddAdjacent(w0, Avx.LoadVector256(x0)), Avx2.MultiplyAddAdjacent(w1, Avx.LoadVector256(x0 + 16)));
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(dot), Lane(f, block32), acc);
    }
}
