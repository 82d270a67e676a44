using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Rows of Q8_0, Q4_0, Q4_K, Q5_K and Q6_K widened to float32 on AVX2, for the prompt GEMM's widened rows and embedding
/// lookups: the same values as <see cref="GgmlBlockFormat.DequantizeBlock"/>, bit for bit — the same float operations
/// in the same order (a multiply, then a subtract; never fused), eight values at a time, or sixteen in one 512-bit
/// vector where AVX-512 is there (half the instructions: widening was a fifth of a Q4_K prompt product).
/// </summary>
internal static unsafe class GgmlAvx2Dequantizer
{
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>16 unsigned bytes as two vectors of eight float32, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>) Widen(Vector128<byte> v) =>
        (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(v)),
         Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>) Widen(Vector128<sbyte> v) =>
        (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(v)),
         Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8))));

    /// <summary>destination[0..16) = d·w − m for 16 unsigned quants (the K-quants with minimums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreScaled(Vector128<byte> w, float d, float m, float* destination)
    {
        if (Avx512F.IsSupported)
        {
            var v = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(w));
            Avx512F.Subtract(Avx512F.Multiply(Vector512.Create(d), v), Vector512.Create(m)).Store(destination);
            return;
        }
        var (a, b) = Widen(w);
        Avx.Subtract(Avx.Multiply(Vector256.Create(d), a), Vector256.Create(m)).Store(destination);
        Avx.Subtract(Avx.Multiply(Vector256.Create(d), b), Vector256.Create(m)).Store(destination + 8);
    }

    /// <summary>destination[0..16) = w·d for 16 signed quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreScaled(Vector128<sbyte> w, float d, float* destination)
    {
        if (Avx512F.IsSupported)
        {
            Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(w)), Vector512.Create(d)).Store(destination);
            return;
        }
        var (a, b) = Widen(w);
        Avx.Multiply(a, Vector256.Create(d)).Store(destination);
        Avx.Multiply(b, Vector256.Create(d)).Store(destination + 8);
    }

    public static void WidenQ8_0(byte* row, float* destination, int blocks)
    {
        for (int b = 0; b < blocks; b++, row += 34, destination += 32)
        {
            float d = GgmlBits.ExactHalf(row);
            StoreScaled(Sse2.LoadVector128((sbyte*)(row + 2)), d, destination);
            StoreScaled(Sse2.LoadVector128((sbyte*)(row + 18)), d, destination + 16);
        }
    }

    public static void WidenQ4_0(byte* row, float* destination, int blocks)
    {
        var eight = Vector128.Create((sbyte)8);
        for (int b = 0; b < blocks; b++, row += 18, destination += 32)
        {
            float d = GgmlBits.ExactHalf(row);
            var q = Sse2.LoadVector128(row + 2);
            StoreScaled(Sse2.Subtract(GgmlBits.Low(q).AsSByte(), eight), d, destination);
            StoreScaled(Sse2.Subtract(GgmlBits.High(q).AsSByte(), eight), d, destination + 16);
        }
    }

    public static void WidenQ4_K(byte* row, float* destination, int superBlocks)
    {
        for (int s = 0; s < superBlocks; s++, row += 144)
        {
            float d = GgmlBits.ExactHalf(row), min = GgmlBits.ExactHalf(row + 2);
            for (int j = 0; j < 8; j += 2, destination += 64)
            {
                var (sc0, m0) = KQuantScales.Get(row + 4, j);
                var (sc1, m1) = KQuantScales.Get(row + 4, j + 1);
                var q0 = Sse2.LoadVector128(row + 16 + j * 16);
                var q1 = Sse2.LoadVector128(row + 32 + j * 16);
                float d0 = d * sc0, n0 = min * m0, d1 = d * sc1, n1 = min * m1;
                StoreScaled(GgmlBits.Low(q0), d0, n0, destination);
                StoreScaled(GgmlBits.Low(q1), d0, n0, destination + 16);
                StoreScaled(GgmlBits.High(q0), d1, n1, destination + 32);
                StoreScaled(GgmlBits.High(q1), d1, n1, destination + 48);
            }
        }
    }

    public static void WidenQ5_K(byte* row, float* destination, int superBlocks)
    {
        var bit = Vector128.Create((byte)0x01);
        for (int s = 0; s < superBlocks; s++, row += 176)
        {
            float d = GgmlBits.ExactHalf(row), min = GgmlBits.ExactHalf(row + 2);
            var h0 = Sse2.LoadVector128(row + 16);
            var h1 = Sse2.LoadVector128(row + 32);
            for (int j = 0; j < 8; j += 2, destination += 64)
            {
                var (sc0, m0) = KQuantScales.Get(row + 4, j);
                var (sc1, m1) = KQuantScales.Get(row + 4, j + 1);
                var q0 = Sse2.LoadVector128(row + 48 + j * 16);
                var q1 = Sse2.LoadVector128(row + 64 + j * 16);
                float d0 = d * sc0, n0 = min * m0, d1 = d * sc1, n1 = min * m1;
                StoreScaled(Sse2.Or(GgmlBits.Low(q0), GgmlBits.Fifth(h0, bit)), d0, n0, destination);
                StoreScaled(Sse2.Or(GgmlBits.Low(q1), GgmlBits.Fifth(h1, bit)), d0, n0, destination + 16);
                h0 = Sse2.ShiftRightLogical(h0.AsUInt16(), 1).AsByte(); h1 = Sse2.ShiftRightLogical(h1.AsUInt16(), 1).AsByte();
                StoreScaled(Sse2.Or(GgmlBits.High(q0), GgmlBits.Fifth(h0, bit)), d1, n1, destination + 32);
                StoreScaled(Sse2.Or(GgmlBits.High(q1), GgmlBits.Fifth(h1, bit)), d1, n1, destination + 48);
                h0 = Sse2.ShiftRightLogical(h0.AsUInt16(), 1).AsByte(); h1 = Sse2.ShiftRightLogical(h1.AsUInt16(), 1).AsByte();
            }
        }
    }

    public static void WidenQ6_K(byte* row, float* destination, int superBlocks)
    {
        var three = Vector128.Create((byte)0x03);
        var offset = Vector128.Create((sbyte)32);
        for (int s = 0; s < superBlocks; s++, row += 210, destination += 256)
        {
            float d = GgmlBits.ExactHalf(row + 208);
            sbyte* scales = (sbyte*)(row + 192);
            for (int half = 0; half < 2; half++)
            {
                for (int part = 0; part < 2; part++)
                {
                    var qh = Sse2.LoadVector128(row + 128 + half * 32 + part * 16);
                    var ql0 = Sse2.LoadVector128(row + half * 64 + part * 16);
                    var ql1 = Sse2.LoadVector128(row + half * 64 + 32 + part * 16);
                    for (int k = 0; k < 4; k++)
                    {
                        var ql = (k & 1) == 0 ? ql0 : ql1;
                        var low = k < 2 ? GgmlBits.Low(ql) : GgmlBits.High(ql);
                        var high = Sse2.ShiftLeftLogical(Sse2.And(qh, three).AsUInt16(), 4).AsByte();
                        qh = Sse2.ShiftRightLogical(qh.AsUInt16(), 2).AsByte();
                        int value = half * 128 + k * 32 + part * 16;
                        // ggml multiplies d·scale first, then the quant.
                        StoreScaled(Sse2.Subtract(Sse2.Or(low, high).AsSByte(), offset), d * scales[value / 16], destination + value);
                    }
                }
            }
        }
    }
}
