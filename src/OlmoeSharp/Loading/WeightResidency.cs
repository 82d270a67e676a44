namespace OlmoeSharp;

/// <summary>Where the weights live while a model is loaded.</summary>
public enum WeightResidency
{
    /// <summary>
    /// Memory-mapped from the safetensors files, never copied: loads instantly, shares the OS page cache with other
    /// processes, and costs no memory beyond the file cache. The default.
    /// </summary>
    Mapped,

    /// <summary>
    /// Read once into process memory backed by huge pages where the OS offers them. Loading takes seconds and the
    /// weights are held privately (resident memory ≈ the weight files), but decoding reads them faster: on the
    /// reference 2-core VM a page-cache mapping streams at ≈14 GB/s and private huge-page memory at ≈20 GB/s.
    /// </summary>
    Preloaded,
}
