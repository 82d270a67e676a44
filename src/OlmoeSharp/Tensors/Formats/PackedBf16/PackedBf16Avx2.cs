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
    /// Four rows' dot products with x, one row after another. Packed rows lie back to back, so this is one
    /// sequential stream, which the prefetchers follow (software prefetch covers the 4 KiB page ends they stop at);
    /// x stays in L1. Decoding four rows at once, as the AVX-512 kernel does, needs more than AVX2's 16 registers
    /// and measured several times slower here for the spills.
    /// </summary>
    public static void Dot4(byte* w, long stride, uint* bases, int groups, float* x, float* result)
    {
        for (int r = 0; r < 4; r++, w += stride, bases += groups)
        {
            // Two accumulators, one per group of a pair, so consecutive FMAs do not wait on each other.
            Vector256<float> first = default, second = default;
            for (int g = 0; g < groups; g += 2)
            {
                byte* block = w + (long)(g >> 1) * PackedBf16.PairBytes;
                PackedBf16Kernels.PrefetchBlock(block + Prefetch);
                var codes0 = Vector256.Load(block + 2 * Group);
                var codes1 = Vector256.Load(block + 2 * Group + 32);
                first = AccumulateGroup(block, Codes(codes0, 0), Codes(codes1, 0), bases[g], x + g * Group, first);
                second = AccumulateGroup(block + Group, Codes(codes0, 1), Codes(codes1, 1), bases[g + 1], x + (g + 1) * Group, second);
            }
            result[r] = Vector256.Sum(first + second);
        }
    }

    /// <summary>How far ahead of the block being decoded to prefetch: a few blocks, so lines arrive in time.</summary>
    private const int Prefetch = 8 * PackedBf16.PairBytes;

    /// <summary>
    /// acc + one group's 64 values · x. Storage positions 0–31 (lanes 0–1) give values 0–7, 16–23, 32–39, 48–55;
    /// positions 32–63 the same slices shifted by 8 — eight float32 vectors, each a plain 8-value slice of x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> AccumulateGroup(byte* low, Vector256<byte> codes0, Vector256<byte> codes1, uint baseWord, float* x, Vector256<float> acc)
    {
        acc = AccumulateHalf(Vector256.Load(low), High(codes0, baseWord), x, acc);
        return AccumulateHalf(Vector256.Load(low + 32), High(codes1, baseWord), x + 8, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> AccumulateHalf(Vector256<byte> low, Vector256<byte> high, float* x, Vector256<float> acc)
    {
        var highWords = Vector256.Create(0xFFFF0000u);
        var p = Avx2.UnpackLow(low, high).AsUInt32();
        acc = Vector256.FusedMultiplyAdd((p << 16).AsSingle(), Vector256.Load(x), acc);
        acc = Vector256.FusedMultiplyAdd((p & highWords).AsSingle(), Vector256.Load(x + 16), acc);
        p = Avx2.UnpackHigh(low, high).AsUInt32();
        acc = Vector256.FusedMultiplyAdd((p << 16).AsSingle(), Vector256.Load(x + 32), acc);
        return Vector256.FusedMultiplyAdd((p & highWords).AsSingle(), Vector256.Load(x + 48), acc);
    }

    /// <summary>A group's 4-bit codes from the pair's code bytes: the low nibbles for the first group (<paramref name="half"/> 0), the high ones for the second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Codes(Vector256<byte> codeBytes, int half) =>
        (half == 0 ? codeBytes : Avx2.ShiftRightLogical(codeBytes.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);

    /// <summary>High bytes from clean codes: the table lookup per 128-bit lane, then the base subtracted four bytes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> High(Vector256<byte> codes, uint baseWord) =>
        (Avx2.Shuffle(Vector256.Create(PackedBf16Kernels.CodeTable()), codes).AsUInt32() - Vector256.Create(baseWord)).AsByte();

    /// <summary>One packed row to bf16 in natural order (corrections not applied): each group spread into float32 slots, then narrowed.</summary>
    public static void DecodeRow(byte* row, uint* bases, int cols, ushort* destination)
    {
        var values = stackalloc uint[Group];
        for (int g = 0; g < cols / Group; g++)
        {
            byte* block = row + (g >> 1) * PackedBf16.PairBytes;
            byte* low = block + (g & 1) * Group;
            StoreHalf(Vector256.Load(low), High(Codes(Vector256.Load(block + 2 * Group), g & 1), bases[g]), values);
            StoreHalf(Vector256.Load(low + 32), High(Codes(Vector256.Load(block + 2 * Group + 32), g & 1), bases[g]), values + 8);
            ushort* target = destination + g * Group;
            for (int i = 0; i < Group; i += 16)
                Vector256.Narrow(Vector256.Load(values + i) >> 16, Vector256.Load(values + i + 8) >> 16).Store(target + i);
        }
    }

    /// <summary>The four vectors <see cref="AccumulateHalf"/> multiplies, stored where their values belong (as float32 bit patterns).</summary>
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
