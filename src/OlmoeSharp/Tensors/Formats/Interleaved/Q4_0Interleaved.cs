using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q4_0 matrices re-laid sixteen rows at a time, one row per vector lane (as <see cref="Q4_KInterleaved"/>): in the
/// row layout each row pays a convert and a multiply-add per block of 32 for its own scale; here one of each serves
/// sixteen rows. Layout of a group's 256 columns (<see cref="GroupBlockBytes"/>): for each of the 8 blocks the 16 rows'
/// d (float32, widened exactly), then per block the quants as <see cref="NibbleChunks"/>. 160 bytes per row and 256
/// columns instead of 144.
/// </summary>
internal static unsafe class Q4_0Interleaved
{
    public const int GroupRows = InterleavedFormat.GroupRows;
    public const int GroupBlockBytes = 2560;
    public const int QuantsOffset = 512;

    /// <summary>Row <paramref name="r"/> of a group's 256 columns at <paramref name="destination"/>, from the stored row's 8 blocks at <paramref name="blocks"/>.</summary>
    public static void InterleaveRow(byte* blocks, byte* destination, int r)
    {
        for (int j = 0; j < 8; j++)
        {
            byte* block = blocks + j * 18;
            ((float*)destination)[j * GroupRows + r] = GgmlBits.ExactHalf(block);
            // Low nibbles are values 0–15, high ones 16–31.
            var q = Vector128.Load(block + 2);
            NibbleChunks.Write(q & Vector128.Create((byte)15), Vector128.ShiftRightLogical(q, 4), destination + QuantsOffset + j * NibbleChunks.Bytes, r);
        }
    }

    /// <summary>
    /// Row <paramref name="r"/> (0–15) of the group at <paramref name="group"/> widened to float32: exactly the values
    /// <see cref="Q4_0Format.DequantizeBlock"/> gives for the stored row ((q − 8)·d).
    /// </summary>
    public static void WidenRow(byte* group, int r, int superBlocks, float* destination)
    {
        var eight = Vector128.Create((sbyte)8);
        for (int s = 0; s < superBlocks; s++, group += GroupBlockBytes)
        {
            for (int j = 0; j < 8; j++, destination += 32)
            {
                float d = ((float*)group)[j * GroupRows + r];
                byte* chunks = group + QuantsOffset + j * NibbleChunks.Bytes;
                if (Avx2.IsSupported)
                {
                    var (first, second) = NibbleChunks.Row(chunks, r);
                    GgmlAvx2Dequantizer.StoreScaled(Sse2.Subtract(first.AsSByte(), eight), d, destination);
                    GgmlAvx2Dequantizer.StoreScaled(Sse2.Subtract(second.AsSByte(), eight), d, destination + 16);
                    continue;
                }
                for (int l = 0; l < 32; l++) destination[l] = (NibbleChunks.Quant(chunks, r, l) - 8) * d;
            }
        }
    }
}
