namespace OlmoeSharp.Hub;

/// <summary>
/// A file's path inside a repo as the hub lists it (<c>rfilename</c>): <c>/</c>-separated, perhaps in folders
/// (<c>Q4_K_M/model-Q4_K_M.gguf</c>). Such a name comes from the network and becomes a URL and a file of the snapshot
/// folder, so only names that cannot leave that folder on any OS are accepted.
/// </summary>
internal static class RepoFilePath
{
    private const int MaxLength = 1024;
    private const int MaxSegmentLength = 255;
    private const int MaxSegments = 16;

    /// <summary>
    /// True for a relative path of plain segments: none empty, <c>.</c> or <c>..</c>, none holding <c>\</c>, <c>:</c>
    /// (a Windows drive or stream) or a control character.
    /// </summary>
    public static bool IsSafe(string path)
    {
        if (path.Length is 0 or > MaxLength) return false;
        var segments = path.Split('/');
        return segments.Length <= MaxSegments && segments.All(segment =>
            segment.Length is > 0 and <= MaxSegmentLength
            && segment is not "." and not ".."
            && !segment.Any(c => char.IsControl(c) || c is '\\' or ':'));
    }

    /// <summary>The path escaped for a URL, segment by segment, its slashes kept, as huggingface_hub's <c>hf_hub_url</c> does.</summary>
    public static string Escape(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
}
