using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>The bit unpacking the 128-bit ggml kernels and dequantizers share: nibbles, fifth bits, fp16 scales.</summary>
internal static unsafe class GgmlBits
{
    /// <summary>The low nibble of each byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Low(Vector128<byte> v) => Sse2.And(v, Vector128.Create((byte)0x0F));

    /// <summary>The high nibble of each byte, moved down.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> High(Vector128<byte> v) => Sse2.And(Sse2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), Vector128.Create((byte)0x0F));

    /// <summary>Bit 0 of each byte of <paramref name="high"/> (masked by <paramref name="bit"/>) moved to bit 4: a Q5 value's fifth bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Fifth(Vector128<byte> high, Vector128<byte> bit) =>
        Sse2.ShiftLeftLogical(Sse2.And(high, bit).AsUInt16(), 4).AsByte();

    /// <summary>
    /// An IEEE half stored little-endian at <paramref name="p"/>, widened exactly (ggml's GGML_FP16_TO_FP32), NaNs
    /// included. The bits are moved into place with integer operations and the exponent rebiased; a subnormal half
    /// m·2^-24 is built as 2^-14·(1 + m/1024) and 2^-14 subtracted, exactly. No float operation ever sees a subnormal
    /// operand: on Intel cores each one costs a microcode assist of ~150 cycles, and the super-block scales of Q6_K
    /// and Q5_K (d ≈ max|w| / 4000) are subnormal halves in typical weights — widening them by the usual
    /// shift-and-multiply trick made those two kernels four times slower than the others.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ExactHalf(byte* p)
    {
        uint h = *(ushort*)p;
        uint exponent = h & 0x7C00;
        uint lower = exponent == 0 ? SubnormalBase : 0;
        uint rebias = exponent == 0 ? SubnormalBase : exponent == 0x7C00 ? SpecialRebias : NormalRebias;
        float magnitude = BitConverter.UInt32BitsToSingle(((h & 0x7FFF) << 13) + rebias) - BitConverter.UInt32BitsToSingle(lower);
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | (h & 0x8000) << 16);
    }

    /// <summary>Eight halves (the low 16 bits of each lane of <paramref name="h"/>) widened as <see cref="ExactHalf"/> does, bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExactHalves(Vector256<int> h)
    {
        var exponent = Avx2.And(h, Vector256.Create(0x7C00));
        var subnormal = Avx2.CompareEqual(exponent, Vector256<int>.Zero);
        var special = Avx2.CompareEqual(exponent, Vector256.Create(0x7C00));
        var lower = Avx2.And(subnormal, Vector256.Create((int)SubnormalBase));
        // NormalRebias, plus as much again for infinities and NaNs, plus one exponent step for subnormals.
        var rebias = Avx2.Add(Avx2.Add(Vector256.Create((int)NormalRebias), Avx2.And(special, Vector256.Create((int)NormalRebias))),
            Avx2.And(subnormal, Vector256.Create((int)(SubnormalBase - NormalRebias))));
        var bits = Avx2.Add(Avx2.ShiftLeftLogical(Avx2.And(h, Vector256.Create(0x7FFF)), 13), rebias);
        var magnitude = Avx.Subtract(bits.AsSingle(), lower.AsSingle());
        return Avx.Or(magnitude, Avx2.ShiftLeftLogical(Avx2.And(h, Vector256.Create(0x8000)), 16).AsSingle());
    }

    /// <summary>
    /// Fetches the cache lines <see cref="PrefetchDistance"/> bytes ahead of the <paramref name="bytes"/> of blocks at
    /// <paramref name="block"/>. The integer kernels do enough work per byte that the out-of-order window holds too
    /// few loads to keep memory busy: without this a matrix streamed from memory ran at half the speed of one in
    /// cache, with it at 85–100%, and Q4_K_M decoding went from 12 to 15–16 tokens/s (two threads, AVX-512).
    /// Prefetching past the end of a matrix or a mapping is harmless: prefetches never fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchAhead(byte* block, int bytes)
    {
        byte* ahead = block + PrefetchDistance;
        for (int offset = 0; offset < bytes + 63; offset += 64) Sse.Prefetch0(ahead + offset);
    }

    /// <summary>4 KiB: the best of 0.5–8 KiB measured on streamed 2048 × 2048 Q4_K and Q6_K matrices, two threads.</summary>
    private const int PrefetchDistance = 4096;

    /// <summary>Float32 exponent bias minus half's (127 − 15), in exponent position.</summary>
    private const uint NormalRebias = 112u << 23;

    /// <summary>Infinities and NaNs: exponent 31 must become 255.</summary>
    private const uint SpecialRebias = 224u << 23;

    /// <summary>2^-14, the smallest normal half, as float32 bits: subnormals are built on it and it is then subtracted.</summary>
    private const uint SubnormalBase = 113u << 23;
}
