using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The AVX2 kernels of <see cref="PackedBf16"/> (dispatched by <see cref="PackedBf16Kernels"/>). The storage order
/// made for AVX-512 (<see cref="PackedBf16.WeightAt"/>) serves 256-bit vectors as well, because the byte shuffle
/// and the 8-bit unpacks work per 128-bit lane on both: a 32-byte vector holds storage lanes 0–1 (or 2–3) of a
/// group, and unpacking its low bytes with its high bytes gives words whose even halves are values 0–7 (or 8–15)
/// and whose odd halves are values 16–23 (24–31); the high unpack gives 32–39 and 48–55 (40–47, 56–63). So each of
/// the eight float32 vectors of a group multiplies a plain 8-value slice of x, with one shift or one mask to make it:
/// about 28 instructions per 64 values against the bf16 kernel's 24, for a fifth fewer bytes.
/// </summary>
internal static unsafe class PackedBf16Avx2
{
    private const int Group = PackedBf16.GroupSize;

    /// <summary>
    /// Four rows' dot products with x, two rows at a time. Each x vector is loaded once for both rows: with one row
    /// at a time the loads of x, the bytes and the constants came to ~18 per 64 values and the load ports, not the
    /// decode, set the speed. Two rows, not four as on AVX-512, because two rows in flight already use all 16
    /// registers (4 accumulators, 3 constants, 2 × 4 for the bytes and words being decoded, 1 for x).
    /// </summary>
    public static void Dot4(byte* w, long stride, uint* bases, int groups, float* x, float* result)
    {
        Dot2(w, w + stride, bases, bases + groups, groups, x, result);
        Dot2(w + 2 * stride, w + 3 * stride, bases + 2 * groups, bases + 3 * groups, groups, x, result + 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it
    private static void Dot2(byte* w0, byte* w1, uint* b0, uint* b1, int groups, float* x, float* result)
    {
        var highWords = Vector256.Create(0xFFFF0000u);
        // Two accumulators per row, one per group of the pair, so consecutive FMAs into one do not wait on each other.
        Vector256<float> a0 = default, c0 = default, a1 = default, c1 = default;
        for (int g = 0; g < groups; g += 2)
        {
            long block = (long)(g >> 1) * PackedBf16.PairBytes;
            byte* r0 = w0 + block, r1 = w1 + block;
            PackedBf16Kernels.PrefetchBlock(r0 + Prefetch);
            PackedBf16Kernels.PrefetchBlock(r1 + Prefetch);
            float* xs = x + g * Group;
            for (int half = 0; half < 2; half++)
            {
                // Storage positions 0–31 of the first group (x slices at 0, 16, 32, 48), then 32–63 (at 8, 24, 40, 56).
                int offset = half * 32;
                var l0 = Vector256.Load(r0 + offset);
                var h0 = High(Codes(Vector256.Load(r0 + 2 * Group + offset), 0), b0 + g);
                var l1 = Vector256.Load(r1 + offset);
                var h1 = High(Codes(Vector256.Load(r1 + 2 * Group + offset), 0), b1 + g);
                AccumulateHalf2(l0, h0, l1, h1, highWords, xs + half * 8, ref a0, ref a1);
                // The pair's second group: same code bytes, high nibbles.
                l0 = Vector256.Load(r0 + Group + offset);
                h0 = High(Codes(Vector256.Load(r0 + 2 * Group + offset), 1), b0 + g + 1);
                l1 = Vector256.Load(r1 + Group + offset);
                h1 = High(Codes(Vector256.Load(r1 + 2 * Group + offset), 1), b1 + g + 1);
                AccumulateHalf2(l0, h0, l1, h1, highWords, xs + Group + half * 8, ref c0, ref c1);
            }
        }
        result[0] = Vector256.Sum(a0 + c0);
        result[1] = Vector256.Sum(a1 + c1);
    }

    /// <summary>How far ahead of the block being decoded to prefetch: a few blocks, so lines arrive in time.</summary>
    private const int Prefetch = 8 * PackedBf16.PairBytes;

    /// <summary>
    /// Half a group of two rows · x: the 32 storage positions of one 32-byte vector per row, lanes 0–1 (values 0–7,
    /// 16–23, 32–39, 48–55 of the group) or lanes 2–3 (the same slices shifted by 8, with <paramref name="x"/> + 8).
    /// Each x vector is loaded once for both rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateHalf2(Vector256<byte> low0, Vector256<byte> high0, Vector256<byte> low1, Vector256<byte> high1,
        Vector256<uint> highWords, float* x, ref Vector256<float> acc0, ref Vector256<float> acc1)
    {
        var p0 = Avx2.UnpackLow(low0, high0).AsUInt32();
        var p1 = Avx2.UnpackLow(low1, high1).AsUInt32();
        var xv = Vector256.Load(x);
        acc0 = Vector256.FusedMultiplyAdd((p0 << 16).AsSingle(), xv, acc0);
        acc1 = Vector256.FusedMultiplyAdd((p1 << 16).AsSingle(), xv, acc1);
        xv = Vector256.Load(x + 16);
        acc0 = Vector256.FusedMultiplyAdd((p0 & highWords).AsSingle(), xv, acc0);
        acc1 = Vector256.FusedMultiplyAdd((p1 & highWords).AsSingle(), xv, acc1);
        p0 = Avx2.UnpackHigh(low0, high0).AsUInt32();
        p1 = Avx2.UnpackHigh(low1, high1).AsUInt32();
        xv = Vector256.Load(x + 32);
        acc0 = Vector256.FusedMultiplyAdd((p0 << 16).AsSingle(), xv, acc0);
        acc1 = Vector256.FusedMultiplyAdd((p1 << 16).AsSingle(), xv, acc1);
        xv = Vector256.Load(x + 48);
        acc0 = Vector256.FusedMultiplyAdd((p0 & highWords).AsSingle(), xv, acc0);
        acc1 = Vector256.FusedMultiplyAdd((p1 & highWords).AsSingle(), xv, acc1);
    }

    /// <summary>A group's 4-bit codes from the pair's code bytes: the low nibbles for the first group (<paramref name="half"/> 0), the high ones for the second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Codes(Vector256<byte> codeBytes, int half) =>
        (half == 0 ? codeBytes : Avx2.ShiftRightLogical(codeBytes.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);

    /// <summary>High bytes from clean codes: the table lookup per 128-bit lane, then the base subtracted four bytes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> codes, uint* baseWord) =>
        // Broadcast straight from memory: one load µop, where a scalar read then a broadcast took two, one of them on
        // the shuffle port this kernel is bound by.
        (Avx2.Shuffle(Vector256.Create(PackedBf16Kernels.CodeTable()), codes).AsUInt32() - Avx2.BroadcastScalarToVector256(baseWord)).AsByte();

    /// <summary>One packed row to bf16 in natural order (corrections not applied): each group spread into float32 slots, then narrowed.</summary>
    public static void DecodeRow(byte* row, uint* bases, int cols, ushort* destination)
    {
        var values = stackalloc uint[Group];
        for (int g = 0; g < cols / Group; g++)
        {
            byte* block = row + (g >> 1) * PackedBf16.PairBytes;
            byte* low = block + (g & 1) * Group;
            StoreHalf(Vector256.Load(low), High(Codes(Vector256.Load(block + 2 * Group), g & 1), bases + g), values);
            StoreHalf(Vector256.Load(low + 32), High(Codes(Vector256.Load(block + 2 * Group + 32), g & 1), bases + g), values + 8);
            ushort* target = destination + g * Group;
            for (int i = 0; i < Group; i += 16)
                Vector256.Narrow(Vector256.Load(values + i) >> 16, Vector256.Load(values + i + 8) >> 16).Store(target + i);
        }
    }

    /// <summary>The four vectors <see cref="AccumulateHalf2"/> multiplies per row, stored where their values belong (as float32 bit patterns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf(Vector256<byte> low, Vector256<byte> high, uint* values)
    {
        var highWords = Vector256.Create(0xFFFF0000u);
        var p = Avx2.UnpackLow(low, high).AsUInt32();
        (p << 16).Store(values);
        (p & highWords).Store(values + 16);
        p = Avx2.UnpackHigh(low, high).AsUInt32();
        (p << 16).Store(values + 32);
        (p & highWords).Store(values + 48);
    }
}
