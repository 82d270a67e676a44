using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>What the interleaved kernels (<see cref="Q4_KInterleavedKernels"/>, <see cref="Q6_KInterleavedKernels"/>, <see cref="Q4_0InterleavedKernels"/>) share.</summary>
internal static unsafe class InterleavedKernels
{
    /// <summary>Whether the vector kernels run on this CPU (AVX-512BW, or AVX2 with FMA).</summary>
    public static bool HasVectorKernel => Avx512BW.IsSupported || (Avx2.IsSupported && Fma.IsSupported);

    public static string KernelName => Avx512BW.IsSupported ? "avx512" : HasVectorKernel ? "avx2" : "scalar";

    /// <summary>
    /// Fetches into L2 the group's super-block <see cref="PrefetchBlocks"/> ahead. These kernels compute fast enough
    /// that memory is their limit, and the row-layout kernels' prefetch (into L1, 4 KiB ahead) left the interleaved Q4_K
    /// one no faster than theirs on streamed matrices (2048 × 2048, two threads, Zen 4: 106–113 µs; 1, 2, 3, 4, 6, 8
    /// blocks ahead into L2: 140, 111, 96, 88–101, 100, 101 µs; the row layout 123–145).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(byte* block, int blockBytes)
    {
        byte* ahead = block + PrefetchBlocks * blockBytes;
        for (int offset = 0; offset < blockBytes; offset += 64) Sse.Prefetch1(ahead + offset);
    }

    private const int PrefetchBlocks = 4;

    /// <summary>One row's 16-bit word from each of eight chunks 32 bytes apart (<paramref name="words"/> points at its word in the first), in chunk order: a row's share of a block, for widening it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ushort> RowWords(byte* words) =>
        Vector128.Create(*(ushort*)words, *(ushort*)(words + 32), *(ushort*)(words + 64), *(ushort*)(words + 96),
            *(ushort*)(words + 128), *(ushort*)(words + 160), *(ushort*)(words + 192), *(ushort*)(words + 224));

    /// <summary>
    /// Without vector intrinsics: each row of the group widened and dotted with x as the kernels see it (q·d per
    /// block of 32), so every CPU computes the same products.
    /// </summary>
    public static void DotScalar(InterleavedFormat format, byte* group, int superBlocks, Int16Activations x, float* results)
    {
        fixed (float* values = ThreadScratch.Row(superBlocks * InterleavedFormat.SuperBlock))
        {
            for (int r = 0; r < InterleavedFormat.GroupRows; r++)
            {
                format.WidenGroupRow(group, r, superBlocks, values);
                float total = 0;
                for (int b = 0; b < superBlocks * 8; b++)
                {
                    float block = 0;
                    for (int i = 0; i < 32; i++) block += values[b * 32 + i] * x.Values[b * 32 + i];
                    total += block * x.Scales[b];
                }
                results[r] = total;
            }
        }
    }
}
