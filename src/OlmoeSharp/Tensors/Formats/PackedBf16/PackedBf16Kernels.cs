using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The kernels over <see cref="PackedBf16"/> matrices, dispatched to the widest decoder this CPU runs: AVX-512BW
/// (<see cref="PackedBf16Avx512"/>), AVX2 (<see cref="PackedBf16Avx2"/>), or 128-bit vectors on any other CPU
/// with SIMD, ARM64's AdvSimd included (<see cref="PackedBf16Vector128"/>). Each decodes four rows at a time in
/// registers for the matrix × vector product and whole rows to bf16 for the GEMM. Without SIMD rows are decoded one
/// at a time by the scalar reference (<see cref="PackedBf16.DecodeRow"/>) — correct, but slower than reading bf16,
/// which is why loading refuses to pack there (<see cref="HasVectorDecoder"/>).
/// </summary>
internal static unsafe class PackedBf16Kernels
{
    private enum Decoder { Scalar, Vector128, Avx2, Avx512 }

    private static readonly Decoder s_decoder =
        PackedBf16Avx512.IsSupported ? Decoder.Avx512
        : Avx2.IsSupported && SimdWidth.Use256 ? Decoder.Avx2
        : SimdWidth.Use128 ? Decoder.Vector128
        : Decoder.Scalar;

    /// <summary>True when packed rows decode in vector registers here, so packing pays.</summary>
    public static bool HasVectorDecoder => s_decoder != Decoder.Scalar;

    /// <summary>The decoder in use, for reports ("avx512", "avx2", "vector128", "scalar").</summary>
    public static string DecoderName => s_decoder.ToString().ToLowerInvariant();

    /// <summary>y[r] = W[r]·x for r in [rowStart, rowEnd) of a packed matrix; y is indexed by row number.</summary>
    public static void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        var format = PackedBf16Format.Of(w);
        int cols = w.Cols, groups = PackedBf16.GroupsPerRow(cols);
        int r = rowStart;
        if (s_decoder != Decoder.Scalar)
        {
            for (; r <= rowEnd - 4; r += 4)
            {
                byte* rows = w.Row(r);
                uint* bases = (uint*)format.Bases + (long)r * groups;
                switch (s_decoder)
                {
                    case Decoder.Avx512: PackedBf16Avx512.Dot4(rows, w.RowBytes, bases, groups, x, y + r); break;
                    case Decoder.Avx2: PackedBf16Avx2.Dot4(rows, w.RowBytes, bases, groups, x, y + r); break;
                    default: PackedBf16Vector128.Dot4(rows, w.RowBytes, bases, groups, x, y + r); break;
                }
            }
            format.Corrections.AddTo(x, y, rowStart, r);
        }
        if (r == rowEnd) return;
        fixed (ushort* row = ThreadScratch.DecodedRow(cols))
        {
            // Rows the four-row kernels do not cover, and every row without SIMD: decoded (corrections included), then dotted as bf16.
            for (; r < rowEnd; r++)
            {
                DecodeRows(w, r, 1, row);
                y[r] = BFloat16Kernels.Dot(row, x, cols);
            }
        }
    }

    /// <summary>Rows [row, row + count) decoded to bf16 in natural order, corrections included, <paramref name="w"/>.Cols apart.</summary>
    public static void DecodeRows(in WeightMatrix w, int row, int count, ushort* destination)
    {
        var format = PackedBf16Format.Of(w);
        int cols = w.Cols, groups = PackedBf16.GroupsPerRow(cols);
        for (int i = 0; i < count; i++, destination += cols)
        {
            byte* packed = w.Row(row + i);
            uint* bases = (uint*)format.Bases + (long)(row + i) * groups;
            switch (s_decoder)
            {
                case Decoder.Avx512: PackedBf16Avx512.DecodeRow(packed, bases, cols, destination); break;
                case Decoder.Avx2: PackedBf16Avx2.DecodeRow(packed, bases, cols, destination); break;
                case Decoder.Vector128: PackedBf16Vector128.DecodeRow(packed, bases, cols, destination); break;
                default: PackedBf16.DecodeRow(w, row + i, destination); continue; // patches its own corrections
            }
            format.Corrections.Patch(row + i, destination);
        }
    }

    /// <summary>
    /// <see cref="PackedBf16.CodeTable"/> for codes 0–15 as one 128-bit vector (byte shuffles look up within 128-bit
    /// lanes, so wider kernels repeat it per lane). Spelled out so the JIT makes it a constant.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> CodeTable() => Vector128.Create(
        (byte)0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x7A, 0x79, 0x78, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0xFA, 0xF9, 0xF8);

    /// <summary>
    /// Prefetches the three cache lines of one 192-byte block of a row: the four-row kernels fetch the next four
    /// rows at the offsets they are reading, since the hardware prefetcher stops at every 4 KiB page. Into L2, as the
    /// bf16 kernel does (<see cref="BFloat16Kernels.Dot4"/> says why).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchBlock(byte* block)
    {
        if (!Sse.IsSupported) return;
        Sse.Prefetch1(block);
        Sse.Prefetch1(block + PackedBf16.GroupSize);
        Sse.Prefetch1(block + 2 * PackedBf16.GroupSize);
    }
}
