namespace OlmoeSharp;

/// <summary>Where loading a model stands.</summary>
/// <param name="Stage">"download" while files are fetched from the hub, "weights" while weight files are opened (or read, when preloading), "ready" at the end.</param>
/// <param name="File">The file in hand, if any.</param>
/// <param name="Done">Bytes (download) or files (weights) done.</param>
/// <param name="Total">Bytes or files in all, when known.</param>
public sealed record ModelLoadProgress(string Stage, string? File, long Done, long? Total);
