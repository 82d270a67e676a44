namespace OlmoeSharp.Loading;

/// <summary>
/// Where a model's weights end up and why: the requested <see cref="WeightResidency"/> resolved against what this
/// CPU decodes fast and what this machine's memory holds. <see cref="WeightResidency.Auto"/> packs only when packed
/// weights decode in vector registers here, the packed kernel was measured to compute at least as fast as the stored
/// one (<see cref="Tensors.Formats.EncodingProbe"/>: bf16 against packed bf16, a GGUF file's Q4_K, Q6_K and Q4_0 matrices against their
/// interleaved copies),
/// and the packed copy plus <see cref="Headroom"/> fits in the memory available. An explicit
/// <see cref="WeightResidency.Packed"/> is honoured whatever the memory, but served mapped where nothing can be
/// packed or packed weights would decode slower (no vector decoder, or one measured slower than the stored kernel).
/// </summary>
internal static class ResidencyResolver
{
    /// <summary>Memory left over after the packed copy: activations, the KV cache of a long context, the rest of the process, the OS.</summary>
    public const long Headroom = 1_500_000_000;

    /// <summary>The packed mat-vec's measured speed, relative to the stored one's, from which auto packs.</summary>
    public const double MinimumSpeedup = 1.0;

    /// <param name="requested">What the caller asked for.</param>
    /// <param name="hasVectorDecoder">Whether packed weights decode in vector registers on this CPU.</param>
    /// <param name="decoderName">That decoder's name, for the reason.</param>
    /// <param name="packedBytes">Bytes of the packed copy (0 when no matrix can be packed).</param>
    /// <param name="availableBytes">Memory available to the process, or null when unknown.</param>
    /// <param name="speedup">The packed mat-vec's measured speed over the stored format's, or null when not measured.</param>
    /// <param name="encoding">What packing does to these matrices, for the reason.</param>
    /// <param name="stored">The stored format packing encodes, for the reason.</param>
    /// <returns>The residency to load with (never Auto) and a one-line reason.</returns>
    public static (WeightResidency Residency, string Reason) Resolve(WeightResidency requested, bool hasVectorDecoder, string decoderName,
        long packedBytes, long? availableBytes, double? speedup, string encoding = "12.5 bits per weight", string stored = "bf16")
    {
        string packedSize = $"{packedBytes / 1e9:F1} GB";
        string measured = speedup is double r ? $", its mat-vec measured {r:F2}× {stored}'s speed here" : "";
        switch (requested)
        {
            case WeightResidency.Mapped:
                return (WeightResidency.Mapped, "mapped: as requested");
            case WeightResidency.Preloaded:
                return (WeightResidency.Preloaded, "preloaded: as requested");
            case WeightResidency.Packed when packedBytes == 0:
                return (WeightResidency.Mapped, "mapped instead of packed: no matrix can be packed (packing takes bf16 matrices whose rows are a multiple of 128 values, and Q4_K, Q6_K and Q4_0 ones of a multiple of 16 rows)");
            case WeightResidency.Packed when !hasVectorDecoder:
                return (WeightResidency.Mapped, "mapped instead of packed: packed weights have no vector decoder on this CPU, so packing would make decoding slower");
            case WeightResidency.Packed when speedup < MinimumSpeedup:
                return (WeightResidency.Mapped, $"mapped instead of packed: the {decoderName} packed mat-vec measured only {speedup:F2}× {stored}'s speed on this CPU, so packed weights would decode slower");
            case WeightResidency.Packed:
                return (WeightResidency.Packed, $"packed: as requested ({packedSize}, {decoderName} decoder{measured})");
        }
        if (packedBytes == 0) return (WeightResidency.Mapped, "auto → mapped: no matrix can be packed (packing takes bf16 matrices whose rows are a multiple of 128 values, and Q4_K, Q6_K and Q4_0 ones of a multiple of 16 rows)");
        if (!hasVectorDecoder) return (WeightResidency.Mapped, "auto → mapped: packed weights have no vector decoder on this CPU");
        if (speedup < MinimumSpeedup)
            return (WeightResidency.Mapped, $"auto → mapped: the {decoderName} packed mat-vec measured only {speedup:F2}× {stored}'s speed on this CPU, so packed weights would decode slower");
        if (availableBytes is long available && packedBytes + Headroom > available)
            return (WeightResidency.Mapped, $"auto → mapped: the {packedSize} packed copy would not fit in the {available / 1e9:F1} GB available with {Headroom / 1e9:F1} GB to spare");
        string room = availableBytes is long a ? $", fits in {a / 1e9:F1} GB available" : "";
        return (WeightResidency.Packed, $"auto → packed: {encoding}, {decoderName} decoder{measured}, {packedSize}{room}");
    }

    /// <summary>True for the residencies that quantize at load.</summary>
    public static bool IsQuantized(WeightResidency residency) => residency is WeightResidency.Q8_0 or WeightResidency.Q4_0 or WeightResidency.Q4_K;

    /// <summary>The GGUF file type a quantized residency quantizes as (its mix of tensor types).</summary>
    public static Checkpoints.GgufFileType FileTypeOf(WeightResidency residency) => residency switch
    {
        WeightResidency.Q8_0 => Checkpoints.GgufFileType.Q8_0,
        WeightResidency.Q4_0 => Checkpoints.GgufFileType.Q4_0,
        WeightResidency.Q4_K => Checkpoints.GgufFileType.Q4_K_M,
        _ => throw new ArgumentOutOfRangeException(nameof(residency), residency, "not a quantized residency."),
    };

    /// <summary>
    /// A quantized residency: honoured when at least one matrix is stored in a float type to quantize from, else
    /// served mapped (a GGUF file's matrices are already quantized, and quantizing them again would only lose more).
    /// </summary>
    /// <param name="requested">Q8_0, Q4_0 or Q4_K.</param>
    /// <param name="sourceBytes">Bytes of the float matrices that will be quantized (0 when none).</param>
    /// <param name="quantizedBytes">Bytes of their quantized copy.</param>
    /// <param name="interleaved">Whether some of the copy is re-laid sixteen rows at a time for the faster kernels.</param>
    public static (WeightResidency Residency, string Reason) ResolveQuantized(WeightResidency requested, long sourceBytes, long quantizedBytes, bool interleaved = false)
    {
        string name = requested.ToString().ToLowerInvariant();
        if (sourceBytes == 0)
            return (WeightResidency.Mapped, $"mapped instead of {name}: no matrix is stored as bf16, f16 or f32 to quantize from (the file is already quantized)");
        string mix = requested switch
        {
            WeightResidency.Q8_0 => "every matrix Q8_0",
            WeightResidency.Q4_0 => "llama.cpp's Q4_0 mix, mostly Q4_0",
            _ => "llama.cpp's Q4_K_M mix, mostly Q4_K",
        };
        string layout = interleaved ? "; its Q4_K, Q6_K and Q4_0 matrices re-laid 16 rows at a time, as --weights packed lays out such a file" : "";
        return (requested, $"{name}: as requested ({mix}; {sourceBytes / 1e9:F2} GB → {quantizedBytes / 1e9:F2} GB, router float32{layout})");
    }

    /// <summary>Memory the process can still take: MemAvailable on Linux (it counts reclaimable page cache), the GC's view elsewhere.</summary>
    public static long? AvailableMemory()
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                foreach (string line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                        && long.TryParse(line.AsSpan("MemAvailable:".Length).Trim().TrimEnd("kB").Trim(), out long kb))
                        return kb * 1024;
                return null;
            }
            long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            return total > 0 ? total : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
