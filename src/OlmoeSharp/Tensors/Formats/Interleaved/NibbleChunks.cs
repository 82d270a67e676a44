using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The 4-bit quants of 32 columns of sixteen interleaved rows, as Q4_K and Q4_0 store them: 8 chunks of 32 bytes,
/// chunk c holding columns 4c … 4c + 3, bytes 2r and 2r + 1 row r's q[4c] | q[4c + 2] ≪ 4 and q[4c + 1] | q[4c + 3] ≪ 4.
/// Widened to 16 bits, a chunk's low nibbles are each row's pair (q[4c], q[4c + 1]) in its 32-bit lane and its high
/// nibbles the pair (q[4c + 2], q[4c + 3]): one <c>vpmaddwd</c> with the broadcast pair of activations each.
/// </summary>
internal static unsafe class NibbleChunks
{
    /// <summary>Bytes of one block of 32 columns for 16 rows.</summary>
    public const int Bytes = 256;

    /// <summary>Writes row <paramref name="r"/>'s 32 quants (0–15, one per byte, in column order: 0–15 in <paramref name="first"/>, 16–31 in <paramref name="second"/>) into the chunks at <paramref name="chunks"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(Vector128<byte> first, Vector128<byte> second, byte* chunks, int r)
    {
        WriteHalf(first, chunks + 2 * r);
        WriteHalf(second, chunks + 4 * 32 + 2 * r);
    }

    /// <summary>16 quants into four chunks: each 32-bit lane (q[4c] … q[4c + 3]) becomes the word q[4c] | q[4c + 2] ≪ 4, q[4c + 1] | q[4c + 3] ≪ 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteHalf(Vector128<byte> quants, byte* words)
    {
        var upperPairs = Vector128.ShiftRightLogical(quants.AsUInt32(), 16).AsUInt16();
        var packed = (quants.AsUInt16() | Vector128.ShiftLeft(upperPairs, 4)).AsUInt32();
        for (int c = 0; c < 4; c++) *(ushort*)(words + c * 32) = (ushort)packed.GetElement(c);
    }

    /// <summary>Row <paramref name="r"/>'s quant in column <paramref name="column"/> (0–31).</summary>
    public static int Quant(byte* chunks, int r, int column)
    {
        byte b = chunks[column / 4 * 32 + 2 * r + (column & 1)];
        return (column & 2) == 0 ? b & 15 : b >> 4;
    }

    /// <summary>Row <paramref name="r"/>'s 32 quants in column order, as two vectors of 16 bytes (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> First, Vector128<byte> Second) Row(byte* chunks, int r)
    {
        var pairs = InterleavedKernels.RowWords(chunks + 2 * r).AsByte();
        // Low nibbles are (q[4c], q[4c + 1]), high ones (q[4c + 2], q[4c + 3]): interleaved by 16-bit words, q in order.
        var low = GgmlBits.Low(pairs).AsUInt16();
        var high = GgmlBits.High(pairs).AsUInt16();
        return (Sse2.UnpackLow(low, high).AsByte(), Sse2.UnpackHigh(low, high).AsByte());
    }

    /// <summary>Σ q·x over the 32 columns for each of the 16 rows (AVX-512BW): one int32 lane per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Dot512(byte* chunks, short* x)
    {
        var sum = Chunk512(chunks, x) + Chunk512(chunks + 32, x + 4);
        sum += Chunk512(chunks + 64, x + 8) + Chunk512(chunks + 96, x + 12);
        sum += Chunk512(chunks + 128, x + 16) + Chunk512(chunks + 160, x + 20);
        return sum + (Chunk512(chunks + 192, x + 24) + Chunk512(chunks + 224, x + 28));
    }

    /// <summary>As <see cref="Dot512"/> for four tokens at once, each chunk widened, masked and shifted once for the four (the same sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot512x4(byte* chunks, short* x0, short* x1, short* x2, short* x3,
        out Vector512<int> sum0, out Vector512<int> sum1, out Vector512<int> sum2, out Vector512<int> sum3)
    {
        sum0 = sum1 = sum2 = sum3 = default;
        for (int c = 0; c < 8; c++)
        {
            var w = Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(chunks + c * 32));
            var low = w & Vector512.Create((short)0x0F);
            var high = Avx512BW.ShiftRightLogical(w, 4);
            sum0 += Pairs512(low, high, x0 + 4 * c);
            sum1 += Pairs512(low, high, x1 + 4 * c);
            sum2 += Pairs512(low, high, x2 + 4 * c);
            sum3 += Pairs512(low, high, x3 + 4 * c);
        }
    }

    /// <summary>A chunk's low and high nibble pairs against x[4c … 4c + 3] (<paramref name="x"/> at x[4c]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pairs512(Vector512<short> low, Vector512<short> high, short* x) =>
        Avx512BW.MultiplyAddAdjacent(low, Vector512.Create(*(int*)x).AsInt16()) + Avx512BW.MultiplyAddAdjacent(high, Vector512.Create(*(int*)(x + 2)).AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunk512(byte* chunk, short* x)
    {
        var w = Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(chunk));
        return Pairs512(w & Vector512.Create((short)0x0F), Avx512BW.ShiftRightLogical(w, 4), x);
    }

    /// <summary>Σ q·x over the 32 columns for rows 0–7 (<paramref name="first"/>) and 8–15 (<paramref name="second"/>), AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot256(byte* chunks, short* x, out Vector256<int> first, out Vector256<int> second)
    {
        first = default;
        second = default;
        for (int c = 0; c < 8; c++)
        {
            var pairLow = Vector256.Create(*(int*)(x + 4 * c)).AsInt16();
            var pairHigh = Vector256.Create(*(int*)(x + 4 * c + 2)).AsInt16();
            first += Chunk256(chunks + c * 32, pairLow, pairHigh);
            second += Chunk256(chunks + c * 32 + 16, pairLow, pairHigh);
        }
    }

    /// <summary>
    /// As <see cref="Dot256"/> for one half of the rows (<paramref name="half"/>: the chunks' first or second 16 bytes)
    /// and four tokens at once, each chunk widened, masked and shifted once for the four (the same sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot256x4(byte* half, short* x0, short* x1, short* x2, short* x3,
        out Vector256<int> sum0, out Vector256<int> sum1, out Vector256<int> sum2, out Vector256<int> sum3)
    {
        sum0 = sum1 = sum2 = sum3 = default;
        for (int c = 0; c < 8; c++)
        {
            var w = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(half + c * 32));
            var low = w & Vector256.Create((short)0x0F);
            var high = Avx2.ShiftRightLogical(w, 4);
            sum0 += Pairs256(low, high, x0 + 4 * c);
            sum1 += Pairs256(low, high, x1 + 4 * c);
            sum2 += Pairs256(low, high, x2 + 4 * c);
            sum3 += Pairs256(low, high, x3 + 4 * c);
        }
    }

    /// <summary>A half chunk's low and high nibble pairs against x[4c … 4c + 3] (<paramref name="x"/> at x[4c]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Pairs256(Vector256<short> low, Vector256<short> high, short* x) =>
        Avx2.MultiplyAddAdjacent(low, Vector256.Create(*(int*)x).AsInt16()) + Avx2.MultiplyAddAdjacent(high, Vector256.Create(*(int*)(x + 2)).AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Chunk256(byte* half, Vector256<short> pairLow, Vector256<short> pairHigh)
    {
        var w = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(half));
        return Avx2.MultiplyAddAdjacent(w & Vector256.Create((short)0x0F), pairLow) + Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(w, 4), pairHigh);
    }
}
