using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q6_K matrices re-laid sixteen rows at a time, one row per vector lane (as <see cref="Q4_KInterleaved"/>), in
/// 6.6 bits a weight: the low four bits of each quant as <see cref="Q4_KInterleaved"/> keeps its nibbles, the top two
/// in planes of their own. In a Q4_K_M file the Q6_K matrices (the LM head, half the layers' ffn_down, attn_v) are a
/// third of the bytes a token reads, and decoding streams them from memory: a first layout with the quants as bytes
/// q − 32 (8.6 bits, no bit assembly) made their kernel fast in cache but read 31% more than the file holds, which cost
/// more than the assembly does (2048 × 2048 streamed, two threads, Zen 4: 156–169 µs against 137 here). The values are
/// the same: d widened exactly, the 16 scales and the quants as stored.
/// <para>
/// Layout of a group's super-block (<see cref="GroupBlockBytes"/>): d of the 16 rows (float32), for each sub-block
/// of 16 columns the 16 rows' scales (signed bytes), then per block of 32 columns <see cref="BlockBytes"/>: the low
/// four bits as <see cref="NibbleChunks"/> (256 bytes), then 4 chunks of 32 bytes of the top two bits, chunk c holding
/// columns 8c … 8c + 7: byte 2r row r's even columns' bits (column 8c + 2i at bits 2i), byte 2r + 1 its odd ones'.
/// Widened to 16 bits, a high chunk shifted left by 4, 2, 0 or right by 2 and masked with 0x30 puts the top bits of the
/// column pairs (8c, 8c + 1) … (8c + 6, 8c + 7) next to their low nibbles. 212 bytes per row and super-block against 210.
/// </para>
/// </summary>
internal static unsafe class Q6_KInterleaved
{
    public const int GroupRows = InterleavedFormat.GroupRows;
    public const int GroupBlockBytes = 3392;
    public const int ScalesOffset = 64, QuantsOffset = 320;

    /// <summary>Bytes of a block of 32 columns: low nibbles, then top bits.</summary>
    public const int BlockBytes = NibbleChunks.Bytes + HighBytes;

    /// <summary>Where a block's top-bit chunks start, and their bytes.</summary>
    public const int HighOffset = NibbleChunks.Bytes, HighBytes = 128;

    /// <summary>Row <paramref name="r"/> of a group's super-block at <paramref name="destination"/>, from the stored super-block at <paramref name="block"/>.</summary>
    public static void InterleaveRow(byte* block, byte* destination, int r)
    {
        ((float*)destination)[r] = GgmlBits.ExactHalf(block + 208);
        for (int k = 0; k < 16; k++) destination[ScalesOffset + k * GroupRows + r] = block[192 + k];
        // Value 128h + 32k + l: low four bits in ql (bytes 64h + 32(k % 2) + l, nibble k / 2), top two in qh (32h + l, bits 2k).
        for (int h = 0; h < 2; h++)
        {
            byte* ql = block + 64 * h, qh = block + 128 + 32 * h;
            for (int k = 0; k < 4; k++)
            {
                byte* low = ql + 32 * (k % 2), target = destination + QuantsOffset + (4 * h + k) * BlockBytes;
                int lowShift = 4 * (k / 2), highShift = 2 * k;
                var nibble = Vector128.Create((byte)15);
                NibbleChunks.Write(Vector128.ShiftRightLogical(Vector128.Load(low), lowShift) & nibble, Vector128.ShiftRightLogical(Vector128.Load(low + 16), lowShift) & nibble, target, r);
                var two = Vector128.Create((byte)3);
                WriteTopBits(Vector128.ShiftRightLogical(Vector128.Load(qh), highShift) & two, target + HighOffset + 2 * r);
                WriteTopBits(Vector128.ShiftRightLogical(Vector128.Load(qh + 16), highShift) & two, target + HighOffset + 64 + 2 * r);
            }
        }
    }

    /// <summary>16 columns' top bits (0–3, in column order) into two chunks: per 8 columns the bytes h[0] | h[2] ≪ 2 | h[4] ≪ 4 | h[6] ≪ 6 and the same of the odd ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteTopBits(Vector128<byte> bits, byte* words)
    {
        // Per 32-bit lane, word 0 |= word 1 ≪ 2; then per 64-bit lane, word 0 |= word 2 ≪ 4: the lanes' words hold h[0…7].
        var pairs = bits.AsUInt32() | Vector128.ShiftLeft(Vector128.ShiftRightLogical(bits.AsUInt32(), 16), 2);
        var eights = pairs.AsUInt64() | Vector128.ShiftLeft(Vector128.ShiftRightLogical(pairs.AsUInt64(), 32), 4);
        *(ushort*)words = (ushort)eights.GetElement(0);
        *(ushort*)(words + 32) = (ushort)eights.GetElement(1);
    }

    /// <summary>
    /// Row <paramref name="r"/> (0–15) of the group at <paramref name="group"/> widened to float32: exactly the values
    /// <see cref="Q6_KFormat.DequantizeBlock"/> gives for the stored row ((d·scale)·(q − 32)).
    /// </summary>
    public static void WidenRow(byte* group, int r, int superBlocks, float* destination)
    {
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes)
        {
            float d = ((float*)group)[r];
            for (int b = 0; b < 8; b++, destination += 32)
            {
                float scale0 = d * (sbyte)group[ScalesOffset + 2 * b * GroupRows + r], scale1 = d * (sbyte)group[ScalesOffset + (2 * b + 1) * GroupRows + r];
                byte* chunks = group + QuantsOffset + b * BlockBytes;
                if (Avx2.IsSupported)
                {
                    var (first, second) = NibbleChunks.Row(chunks, r);
                    var (highFirst, highSecond) = HighRow(chunks + HighOffset, r);
                    var bias = Vector128.Create((sbyte)32);
                    GgmlAvx2Dequantizer.StoreScaled(Sse2.Subtract((first | highFirst).AsSByte(), bias), scale0, destination);
                    GgmlAvx2Dequantizer.StoreScaled(Sse2.Subtract((second | highSecond).AsSByte(), bias), scale1, destination + 16);
                    continue;
                }
                for (int l = 0; l < 32; l++) destination[l] = (l < 16 ? scale0 : scale1) * (Quant(chunks, r, l) - 32);
            }
        }
    }

    /// <summary>Row <paramref name="r"/>'s quant (0–63) in column <paramref name="column"/> (0–31) of the block of 32 columns at <paramref name="chunks"/>.</summary>
    private static int Quant(byte* chunks, int r, int column)
    {
        int high = chunks[HighOffset + column / 8 * 32 + 2 * r + (column & 1)] >> (column % 8 / 2 * 2) & 3;
        return NibbleChunks.Quant(chunks, r, column) | high << 4;
    }

    /// <summary>Row <paramref name="r"/>'s top two bits of the block's 32 columns, in column order at bits 4–5 of a byte each (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte> First, Vector128<byte> Second) HighRow(byte* high, int r)
    {
        high += 2 * r;
        var words = Vector128.Create(*(ushort*)high, *(ushort*)(high + 32), *(ushort*)(high + 64), *(ushort*)(high + 96), 0, 0, 0, 0).AsByte();
        // Each column gets the byte holding its bits (chunk column / 8, even or odd byte), then the shift its place needs.
        var first = Ssse3.Shuffle(words, Vector128.Create((byte)0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3));
        var second = Ssse3.Shuffle(words, Vector128.Create((byte)4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7));
        return (Place(first), Place(second));
    }

    /// <summary>Bits 2i, 2i + 1 of the bytes of columns 2i, 2i + 1 (i = column % 8 / 2) moved to bits 4–5, the rest cleared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Place(Vector128<byte> bytes)
    {
        // Each 16-bit word holds columns 2i and 2i + 1: multiplying by 2^(6 − 2i) shifts both bytes' bits to 6–7 (what
        // the low byte carries into the high one lands below bit 6), then one mask and one shift for all.
        var shifted = Sse2.MultiplyLow(bytes.AsUInt16(), Vector128.Create((ushort)64, 16, 4, 1, 64, 16, 4, 1));
        return Sse2.ShiftRightLogical(shifted & Vector128.Create((ushort)0xC0C0), 2).AsByte();
    }
}
