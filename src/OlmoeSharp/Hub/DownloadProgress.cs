namespace OlmoeSharp.Hub;

/// <summary>Progress of a model download.</summary>
/// <param name="File">The file being fetched (relative to the repository).</param>
/// <param name="FileBytes">Bytes of that file in the cache so far.</param>
/// <param name="FileTotal">Its size, when the hub said.</param>
/// <param name="FileIndex">Which file this is (1-based).</param>
/// <param name="FileCount">How many files the model needs (as far as known).</param>
public sealed record DownloadProgress(string File, long FileBytes, long? FileTotal, int FileIndex, int FileCount);
