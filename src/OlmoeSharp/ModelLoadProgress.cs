namespace OlmoeSharp;

/// <summary>Where loading a model stands.</summary>
/// <param name="Stage">"download" while files are fetched from the hub, "weights" while weight files are opened (or read, when preloading), "packing" while matrices are re-encoded (<see cref="WeightResidency.Packed"/>), "quantizing" while they are quantized (<see cref="WeightResidency.Q8_0"/> and the other quantized residencies), "ready" at the end.</param>
/// <param name="File">The file in hand, if any.</param>
/// <param name="Done">Bytes (download), files (weights) or matrices (packing) done.</param>
/// <param name="Total">Bytes, files or matrices in all, when known.</param>
public sealed record ModelLoadProgress(string Stage, string? File, long Done, long? Total);
