using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The 12-byte packing of eight 6-bit (scale, minimum) pairs that Q4_K and Q5_K share (ggml's get_scale_min_k4):
/// pairs 0–3 keep their six bits in the low bits of bytes 0–3 (scales) and 4–7 (minimums); pairs 4–7 keep their low
/// four bits in the nibbles of bytes 8–11 and their top two bits in the top bits of bytes 0–7.
/// </summary>
internal static unsafe class KQuantScales
{
    /// <summary>
    /// All eight pairs at once, from the first 16 bytes of a Q4_K or Q5_K super-block (<paramref name="head"/>: the two
    /// fp16 scales, then these 12 bytes as words w0, w1, w2): bytes 0–7 of the result are the scales, bytes 8–15 the
    /// minimums — the same values as <see cref="Get"/>, by two shuffles and a few word operations on one register (for
    /// the kernels; as scalar word operations, with the four lanes put together, this took a fifth of Q4_K's mat-vec).
    /// </summary>
    public static Vector128<byte> Unpack(Vector128<uint> head)
    {
        const uint Six = 0x3F3F3F3F, Four = 0x0F0F0F0F, TopTwoAsBits4And5 = 0x30303030;
        // Lanes (w0, w2, w1, w2 >> 4): the low six bits of scales 0–3, the low nibbles of scales 4–7, the same for the minimums.
        var low = Avx2.ShiftRightLogicalVariable(Sse2.Shuffle(head, 0b11_10_11_01), Vector128.Create(0u, 0, 0, 4)) & Vector128.Create(Six, Four, Six, Four);
        // Lanes (_, w0, _, w1): bits 6–7 of bytes 0–7, moved to bits 4–5, are the top bits of pairs 4–7.
        var top = Sse2.ShiftRightLogical(Sse2.Shuffle(head, 0b10_00_01_00), 2) & Vector128.Create(0, TopTwoAsBits4And5, 0, TopTwoAsBits4And5);
        return (low | top).AsByte();
    }

    public static (int Scale, int Min) Get(byte* scales, int j)
    {
        if (j < 4) return (scales[j] & 63, scales[j + 4] & 63);
        return ((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
                (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}
