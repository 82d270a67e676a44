namespace OlmoeSharp;

/// <summary>The stage of loading a model that a <see cref="ModelLoadProgress"/> reports.</summary>
public enum ModelLoadStage
{
    /// <summary>Files are fetched from the hub; progress in bytes of <see cref="ModelLoadProgress.File"/>.</summary>
    Download,

    /// <summary>Weight files are opened (or read, when preloading); progress in files.</summary>
    Weights,

    /// <summary>Matrices are re-encoded losslessly (<see cref="WeightResidency.Packed"/>: bf16 at 12.5 bits per weight, a GGUF file's K-quants re-laid); progress in matrices.</summary>
    Packing,

    /// <summary>Matrices are quantized (<see cref="WeightResidency.Q8_0"/> and the other quantized residencies); progress in matrices.</summary>
    Quantizing,

    /// <summary>The model is loaded.</summary>
    Ready,
}

/// <summary>Where loading a model stands.</summary>
/// <param name="Stage">What loading is doing.</param>
/// <param name="File">The file in hand, if any.</param>
/// <param name="Done">Bytes (download), files (weights) or matrices (packing, quantizing) done.</param>
/// <param name="Total">Bytes, files or matrices in all, when known.</param>
public sealed record ModelLoadProgress(ModelLoadStage Stage, string? File, long Done, long? Total);
