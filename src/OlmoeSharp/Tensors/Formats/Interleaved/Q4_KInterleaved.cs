using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q4_K matrices re-laid sixteen rows at a time, so that the mat-vec holds one row per vector lane and scales a whole
/// sub-block of sixteen rows with one multiply. In ggml's row layout every row pays, per sub-block of 32 values, a
/// convert and a multiply-add for its own scale — a third of the Q4_K kernel's time on AVX-512 (in-cache 2048 × 2048:
/// 132 µs with them, 101 µs without) — and, per super-block, unpacking its 6-bit scales and widening its fp16 d.
/// Here both happen once per super-block for sixteen rows, on data stored ready to use. The values are the same
/// (d and dmin widened exactly, scales and quants as stored); only the order of summation differs.
/// <para>
/// Layout: groups of 16 rows one after the other; in a group, its super-blocks (256 columns) in order, each
/// <see cref="GroupBlockBytes"/>: d of the 16 rows (float32), dmin of the 16 rows (float32), for each sub-block j the
/// 16 rows' scales (bytes), then their minimums, then per sub-block 8 chunks of 32 bytes, chunk c holding columns
/// 4c … 4c + 3 of the sub-block: bytes 2r and 2r + 1 are row r's q[4c] | q[4c + 2] ≪ 4 and q[4c + 1] | q[4c + 3] ≪ 4.
/// (<see cref="NibbleChunks"/>). 152 bytes per row and super-block instead of 144.
/// </para>
/// </summary>
internal static unsafe class Q4_KInterleaved
{
    public const int GroupRows = InterleavedFormat.GroupRows;
    public const int SuperBlock = InterleavedFormat.SuperBlock;
    public const int GroupBlockBytes = 2432;
    public const int DminOffset = 64, ScalesOffset = 128, MinimumsOffset = 256, QuantsOffset = 384;

    /// <summary>Row <paramref name="r"/> of a group's super-block at <paramref name="destination"/>, from the stored super-block at <paramref name="block"/>.</summary>
    public static void InterleaveRow(byte* block, byte* destination, int r)
    {
        ((float*)destination)[r] = GgmlBits.ExactHalf(block);
        ((float*)(destination + DminOffset))[r] = GgmlBits.ExactHalf(block + 2);
        for (int j = 0; j < 8; j++)
        {
            var (scale, minimum) = KQuantScales.Get(block + 4, j);
            destination[ScalesOffset + j * GroupRows + r] = (byte)scale;
            destination[MinimumsOffset + j * GroupRows + r] = (byte)minimum;
            // Sub-blocks 2k and 2k + 1 share 32 bytes of the stored block: low nibbles, then high.
            byte* q = block + 16 + j / 2 * 32;
            int shift = (j & 1) * 4;
            var nibble = Vector128.Create((byte)15);
            NibbleChunks.Write(Vector128.ShiftRightLogical(Vector128.Load(q), shift) & nibble, Vector128.ShiftRightLogical(Vector128.Load(q + 16), shift) & nibble,
                destination + QuantsOffset + j * NibbleChunks.Bytes, r);
        }
    }

    /// <summary>
    /// Row <paramref name="r"/> (0–15) of the group at <paramref name="group"/> widened to float32: exactly the values
    /// <see cref="Q4_KFormat.DequantizeBlock"/> gives for the stored row (d·scale, dmin·min, then d·scale·q − dmin·min).
    /// </summary>
    public static void WidenRow(byte* group, int r, int superBlocks, float* destination)
    {
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes)
        {
            float d = ((float*)group)[r], min = ((float*)(group + DminOffset))[r];
            for (int j = 0; j < 8; j++, destination += 32)
            {
                float scale = d * group[ScalesOffset + j * GroupRows + r], offset = min * group[MinimumsOffset + j * GroupRows + r];
                byte* chunks = group + QuantsOffset + j * NibbleChunks.Bytes;
                if (Avx2.IsSupported)
                {
                    var (first, second) = NibbleChunks.Row(chunks, r);
                    GgmlAvx2Dequantizer.StoreScaled(first, scale, offset, destination);
                    GgmlAvx2Dequantizer.StoreScaled(second, scale, offset, destination + 16);
                    continue;
                }
                for (int l = 0; l < 32; l++) destination[l] = scale * NibbleChunks.Quant(chunks, r, l) - offset;
            }
        }
    }
}
