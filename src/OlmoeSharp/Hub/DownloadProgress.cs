namespace OlmoeSharp.Hub;

/// <summary>How far the download of one file has come; reported at most about ten times a second, and once at the end.</summary>
/// <param name="FileName">The file in the repo, e.g. <c>model-00001-of-00003.safetensors</c>.</param>
/// <param name="BytesDone">Bytes on disk so far, including those of a resumed partial download.</param>
/// <param name="TotalBytes">The file's size as announced by the hub.</param>
public sealed record DownloadProgress(string FileName, long BytesDone, long TotalBytes)
{
    /// <summary>True on the last report for the file.</summary>
    public bool IsComplete => BytesDone >= TotalBytes;
}
