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

    /// <summary>Where in a group's 64 values each of the eight decoded vectors belongs (in the order <see cref="Decode"/> yields them).</summary>
    private static ReadOnlySpan<byte> SliceOffsets => [0, 16, 32, 48, 8, 24, 40, 56];

    /// <summary>
    /// Four rows' dot products with x, reading each packed row once and prefetching the next four rows' blocks at
    /// the same offsets. One accumulator per row: four independent FMA chains keep the FMA units busy, and
    /// registers are left for the decode (16 ymm: 4 accumulators, 3 constants, the rest for a group in flight).
    /// </summary>
    public static void Dot4(byte* w, long stride, uint* bases, int groups, float* x, float* result)
    {
        byte* w0 = w, w1 = w + stride, w2 = w + 2 * stride, w3 = w + 3 * stride;
        uint* b0 = bases, b1 = bases + groups, b2 = bases + 2 * groups, b3 = bases + 3 * groups;
        long ahead = 4 * stride;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int g = 0; g < groups; g += 2, x += 2 * Group)
        {
            long block = (long)(g >> 1) * PackedBf16.PairBytes;
            PackedBf16Kernels.PrefetchBlock(w0 + ahead + block); PackedBf16Kernels.PrefetchBlock(w1 + ahead + block);
            PackedBf16Kernels.PrefetchBlock(w2 + ahead + block); PackedBf16Kernels.PrefetchBlock(w3 + ahead + block);
            a0 = AccumulatePair(w0 + block, b0 + g, x, a0);
            a1 = AccumulatePair(w1 + block, b1 + g, x, a1);
            a2 = AccumulatePair(w2 + block, b2 + g, x, a2);
            a3 = AccumulatePair(w3 + block, b3 + g, x, a3);
        }
        result[0] = Vector256.Sum(a0);
        result[1] = Vector256.Sum(a1);
        result[2] = Vector256.Sum(a2);
        result[3] = Vector256.Sum(a3);
    }

    /// <summary>acc + one row's pair of groups (128 values) · x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> AccumulatePair(byte* block, uint* bases, float* x, Vector256<float> acc)
    {
        var codes0 = Vector256.Load(block + 2 * Group);
        var codes1 = Vector256.Load(block + 2 * Group + 32);
        acc = AccumulateGroup(Decode(block, codes0, codes1, 0, bases[0]), x, acc);
        return AccumulateGroup(Decode(block + Group, codes0, codes1, 1, bases[1]), x + Group, acc);
    }

    /// <summary>acc + one group's 64 values · x: eight float32 vectors, each a plain 8-value slice of x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> AccumulateGroup((Vector256<byte> L0, Vector256<byte> H0, Vector256<byte> L1, Vector256<byte> H1) group, float* x, Vector256<float> acc)
    {
        var highWords = Vector256.Create(0xFFFF0000u);
        var p = Avx2.UnpackLow(group.L0, group.H0).AsUInt32();
        acc = Vector256.FusedMultiplyAdd((p << 16).AsSingle(), Vector256.Load(x), acc);
        acc = Vector256.FusedMultiplyAdd((p & highWords).AsSingle(), Vector256.Load(x + 16), acc);
        p = Avx2.UnpackHigh(group.L0, group.H0).AsUInt32();
        acc = Vector256.FusedMultiplyAdd((p << 16).AsSingle(), Vector256.Load(x + 32), acc);
        acc = Vector256.FusedMultiplyAdd((p & highWords).AsSingle(), Vector256.Load(x + 48), acc);
        p = Avx2.UnpackLow(group.L1, group.H1).AsUInt32();
        acc = Vector256.FusedMultiplyAdd((p << 16).AsSingle(), Vector256.Load(x + 8), acc);
        acc = Vector256.FusedMultiplyAdd((p & highWords).AsSingle(), Vector256.Load(x + 24), acc);
        p = Avx2.UnpackHigh(group.L1, group.H1).AsUInt32();
        acc = Vector256.FusedMultiplyAdd((p << 16).AsSingle(), Vector256.Load(x + 40), acc);
        return Vector256.FusedMultiplyAdd((p & highWords).AsSingle(), Vector256.Load(x + 56), acc);
    }

    /// <summary>
    /// One group's low bytes and high bytes, storage positions 0–31 (l0, h0) and 32–63 (l1, h1): the group's
    /// codes are the low nibbles of the pair's code bytes for the first group (<paramref name="half"/> 0) and the
    /// high nibbles for the second; a table lookup and the base subtracted four bytes at a time make the high bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> L0, Vector256<byte> H0, Vector256<byte> L1, Vector256<byte> H1) Decode(
        byte* low, Vector256<byte> codes0, Vector256<byte> codes1, int half, uint baseWord)
    {
        var table = Vector256.Create(PackedBf16Kernels.CodeTable());
        var nibble = Vector256.Create((byte)0x0F);
        var baseVector = Vector256.Create(baseWord);
        if (half != 0)
        {
            codes0 = Avx2.ShiftRightLogical(codes0.AsUInt16(), 4).AsByte();
            codes1 = Avx2.ShiftRightLogical(codes1.AsUInt16(), 4).AsByte();
        }
        var h0 = (Avx2.Shuffle(table, codes0 & nibble).AsUInt32() - baseVector).AsByte();
        var h1 = (Avx2.Shuffle(table, codes1 & nibble).AsUInt32() - baseVector).AsByte();
        return (Vector256.Load(low), h0, Vector256.Load(low + 32), h1);
    }

    /// <summary>One packed row to bf16 in natural order (corrections not applied): each group decoded to float32, then narrowed.</summary>
    public static void DecodeRow(byte* row, uint* bases, int cols, ushort* destination)
    {
        var values = stackalloc float[Group];
        for (int g = 0; g < cols / Group; g++)
        {
            byte* block = row + (g >> 1) * PackedBf16.PairBytes;
            var codes0 = Vector256.Load(block + 2 * Group);
            var codes1 = Vector256.Load(block + 2 * Group + 32);
            var (l0, h0, l1, h1) = Decode(block + (g & 1) * Group, codes0, codes1, g & 1, bases[g]);
            // The words are bf16 already; spreading them into float32 slots puts them in natural order.
            var highWords = Vector256.Create(0xFFFF0000u);
            int slice = 0;
            foreach (var p in (ReadOnlySpan<Vector256<uint>>)[Avx2.UnpackLow(l0, h0).AsUInt32(), Avx2.UnpackHigh(l0, h0).AsUInt32(),
                         Avx2.UnpackLow(l1, h1).AsUInt32(), Avx2.UnpackHigh(l1, h1).AsUInt32()])
            {
                (p << 16).Store((uint*)values + SliceOffsets[slice++]);
                (p & highWords).Store((uint*)values + SliceOffsets[slice++]);
            }
            ushort* target = destination + g * Group;
            for (int i = 0; i < Group; i += 16)
                Vector256.Narrow(Vector256.Load((uint*)values + i) >> 16, Vector256.Load((uint*)values + i + 8) >> 16).Store(target + i);
        }
    }
}
