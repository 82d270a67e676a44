using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q6_K matrices re-laid sixteen rows at a time, one row per vector lane (as <see cref="Q4_KInterleaved"/>), with the
/// six-bit quants stored as the bytes q − 32: putting a Q6_K value's two bit fields together took most of its row-layout
/// kernel's time (in-cache 2048 × 2048, two threads, Zen 4: ~200 µs against Q4_K's ~130), for 8 bits a weight instead of
/// 6.5 — in a Q4_K_M file the Q6_K matrices (the LM head, half the layers' ffn_down, some attn_v) are a quarter of the
/// bytes, and these take ~30% more memory. The values are the same: d widened exactly, the 16 scales as stored.
/// <para>
/// Layout of a group's super-block (<see cref="GroupBlockBytes"/>): d of the 16 rows (float32), for each sub-block
/// of 16 columns the 16 rows' scales (signed bytes), then 128 chunks of 32 bytes, chunk p holding columns 2p and
/// 2p + 1: bytes 2r and 2r + 1 are row r's q[2p] − 32 and q[2p + 1] − 32 — widened to 16 bits, row r's pair in its
/// 32-bit lane, for one <c>vpmaddwd</c> with the broadcast pair of activations. 276 bytes per row and super-block instead of 210.
/// </para>
/// </summary>
internal static unsafe class Q6_KInterleaved
{
    public const int GroupRows = InterleavedFormat.GroupRows;
    public const int GroupBlockBytes = 4416;
    public const int ScalesOffset = 64, QuantsOffset = 320;

    /// <summary>Row <paramref name="r"/> of a group's super-block at <paramref name="destination"/>, from the stored super-block at <paramref name="block"/>.</summary>
    public static void InterleaveRow(byte* block, byte* destination, int r)
    {
        ((float*)destination)[r] = GgmlBits.ExactHalf(block + 208);
        for (int k = 0; k < 16; k++) destination[ScalesOffset + k * GroupRows + r] = block[192 + k];
        byte* quants = destination + QuantsOffset + 2 * r;
        // Value 128h + 32k + l: low four bits in ql (bytes 64h + 32(k % 2) + l, nibble k / 2), top two in qh (32h + l, bits 2k).
        for (int h = 0; h < 2; h++)
        {
            byte* ql = block + 64 * h, qh = block + 128 + 32 * h;
            for (int k = 0; k < 4; k++)
            {
                byte* low = ql + 32 * (k % 2);
                int lowShift = 4 * (k / 2), highShift = 2 * k, first = 128 * h + 32 * k;
                for (int l = 0; l < 32; l++)
                {
                    int q = ((low[l] >> lowShift) & 15) | ((qh[l] >> highShift) & 3) << 4;
                    int i = first + l;
                    quants[(i >> 1) * 32 + (i & 1)] = (byte)(sbyte)(q - 32);
                }
            }
        }
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
            for (int k = 0; k < 16; k++, destination += 16)
            {
                float scale = d * (sbyte)group[ScalesOffset + k * GroupRows + r];
                byte* pairs = group + QuantsOffset + k * 8 * 32 + 2 * r;
                if (Avx2.IsSupported)
                {
                    GgmlAvx2Dequantizer.StoreScaled(InterleavedKernels.RowWords(pairs).AsSByte(), scale, destination);
                    continue;
                }
                for (int p = 0; p < 8; p++)
                {
                    destination[2 * p] = (sbyte)pairs[p * 32] * scale;
                    destination[2 * p + 1] = (sbyte)pairs[p * 32 + 1] * scale;
                }
            }
        }
    }
}
