using System.Runtime.InteropServices;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>
/// The projection matrices of a model re-encoded by <see cref="PackedBf16"/> into one private allocation backed by
/// huge pages (<see cref="WeightResidency.Packed"/>). Packing reads each source matrix through the file mapping and
/// then drops those pages from the process and marks them the first to reclaim, so peak memory is the packed copy,
/// not the copy plus the files, and the cache of matrices not yet packed is not evicted to make room.
/// Matrices that cannot be packed (not bf16, or rows not a multiple of 128) stay mapped.
/// </summary>
internal sealed unsafe class PackedWeights : IDisposable
{
    private const nuint HugePage = 2 << 20;
    private const int Alignment = 64;

    private byte* _memory;

    private PackedWeights(byte* memory, OlmoeWeights weights)
    {
        _memory = memory;
        Weights = weights;
    }

    /// <summary>The weights, packed where possible.</summary>
    public OlmoeWeights Weights { get; }

    /// <summary>
    /// Packs <paramref name="source"/>'s bf16 projection matrices on <paramref name="threads"/> threads; the
    /// <paramref name="onProgress"/> callback gets (matrices done, matrices in all) now and then, from any thread.
    /// </summary>
    public static PackedWeights Pack(OlmoeWeights source, int threads, Action<int, int>? onProgress, CancellationToken cancellationToken)
    {
        var matrices = new List<WeightMatrix>();
        source.WithMatrices(m => { matrices.Add(m); return m; });
        var offsets = new long[matrices.Count];
        long total = 0;
        for (int i = 0; i < matrices.Count; i++)
        {
            offsets[i] = total;
            if (Packable(matrices[i])) total += Align(PayloadBytes(matrices[i])) + Align(BaseBytes(matrices[i]));
        }
        if (total == 0) return new PackedWeights(null, source);

        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)total, HugePage);
        try
        {
            // Not populated up front: the file's cache would have to be evicted to make room, and then read again.
            // Faulted in as packing writes it, the allocation takes the memory each packed matrix's source frees.
            MemoryAdvice.UseHugePages(memory, (nuint)total, populate: false);
            var packed = new WeightMatrix[matrices.Count];
            int done = 0;
            Parallel.For(0, matrices.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken }, i =>
            {
                var m = matrices[i];
                packed[i] = Packable(m) ? PackOne(m, memory + offsets[i]) : m;
                int count = Interlocked.Increment(ref done);
                if (count % 64 == 0 || count == matrices.Count) onProgress?.Invoke(count, matrices.Count);
            });
            int next = 0;
            return new PackedWeights(memory, source.WithMatrices(_ => packed[next++]));
        }
        catch
        {
            NativeMemory.AlignedFree(memory);
            throw;
        }
    }

    private static bool Packable(in WeightMatrix m) => !m.IsPacked && m.Type == TensorDType.BF16 && PackedBf16.CanPack(m.Cols);

    private static long PayloadBytes(in WeightMatrix m) => m.Rows * PackedBf16.RowBytes(m.Cols);

    private static long BaseBytes(in WeightMatrix m) => (long)m.Rows * PackedBf16.BaseBytesPerRow(m.Cols);

    private static long Align(long bytes) => (bytes + Alignment - 1) / Alignment * Alignment;

    private static WeightMatrix PackOne(in WeightMatrix m, byte* target)
    {
        byte* payload = target, bases = target + Align(PayloadBytes(m));
        var corrections = new WeightCorrections.Builder();
        PackedBf16.Pack((ushort*)m.Data, m.Rows, m.Cols, payload, bases, corrections);
        MemoryAdvice.ReleaseMappedPages(m.Data, (nuint)m.SizeInBytes);
        return new WeightMatrix(payload, bases, corrections.Build(), m.Rows, m.Cols);
    }

    public void Dispose()
    {
        if (_memory == null) return;
        NativeMemory.AlignedFree(_memory);
        _memory = null;
    }
}
