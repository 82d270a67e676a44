using System.Runtime.InteropServices;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Loading;

/// <summary>
/// Weight matrices re-encoded by a <see cref="WeightEncoder"/> into one private allocation backed by huge pages
/// (<see cref="WeightResidency.Packed"/>, and the quantized residencies). Encoding reads each source matrix through the file mapping and then drops
/// those pages from the process and marks them the first to reclaim, so peak memory is the encoded copy, not the
/// copy plus the files, and the cache of matrices not yet encoded is not evicted to make room. Matrices the encoder
/// cannot take stay as they are.
/// </summary>
internal sealed unsafe class EncodedWeights : IDisposable
{
    private const nuint HugePage = 2 << 20;
    /// <summary>Each encoded part starts on a cache line.</summary>
    public const int Alignment = 64;

    private byte* _memory;

    private EncodedWeights(byte* memory, WeightMatrix[] matrices)
    {
        _memory = memory;
        Matrices = matrices;
    }

    /// <summary>The matrices, in the order given, encoded where possible.</summary>
    public IReadOnlyList<WeightMatrix> Matrices { get; }

    /// <summary>
    /// Encodes <paramref name="sources"/> on <paramref name="threads"/> threads; the <paramref name="onProgress"/>
    /// callback gets (matrices done, matrices in all) now and then, from any thread.
    /// </summary>
    public static EncodedWeights Encode(IReadOnlyList<WeightMatrix> sources, WeightEncoder encoder, int threads,
        Action<int, int>? onProgress, CancellationToken cancellationToken) =>
        Encode(sources, [.. sources.Select(_ => encoder)], threads, onProgress, cancellationToken);

    /// <summary>As <see cref="Encode(IReadOnlyList{WeightMatrix}, WeightEncoder, int, Action{int, int}?, CancellationToken)"/>, with an encoder per matrix.</summary>
    public static EncodedWeights Encode(IReadOnlyList<WeightMatrix> sources, IReadOnlyList<WeightEncoder> encoders, int threads,
        Action<int, int>? onProgress, CancellationToken cancellationToken)
    {
        if (encoders.Count != sources.Count) throw new ArgumentException($"{encoders.Count} encoders for {sources.Count} matrices.", nameof(encoders));
        var offsets = new long[sources.Count];
        long total = 0;
        for (int i = 0; i < sources.Count; i++)
        {
            offsets[i] = total;
            if (encoders[i].CanEncode(sources[i])) total += encoders[i].EncodedBytes(sources[i], Alignment);
        }
        if (total == 0) return new EncodedWeights(null, [.. sources]);

        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)total, HugePage);
        try
        {
            // Not populated up front: the file's cache would have to be evicted to make room, and then read again.
            // Faulted in as encoding writes it, the allocation takes the memory each encoded matrix's source frees.
            MemoryAdvice.UseHugePages(memory, (nuint)total, populate: false);
            var encoded = new WeightMatrix[sources.Count];
            int done = 0;
            Parallel.For(0, sources.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken }, i =>
            {
                var source = sources[i];
                var encoder = encoders[i];
                if (encoder.CanEncode(source))
                {
                    encoded[i] = encoder.Encode(source, memory + offsets[i], Alignment);
                    MemoryAdvice.ReleaseMappedPages(source.Data, (nuint)source.SizeInBytes);
                }
                else
                {
                    encoded[i] = source;
                }
                int count = Interlocked.Increment(ref done);
                if (count % 64 == 0 || count == sources.Count) onProgress?.Invoke(count, sources.Count);
            });
            return new EncodedWeights(memory, encoded);
        }
        catch
        {
            NativeMemory.AlignedFree(memory);
            throw;
        }
    }

    public void Dispose()
    {
        if (_memory == null) return;
        NativeMemory.AlignedFree(_memory);
        _memory = null;
    }
}
