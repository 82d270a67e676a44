namespace OlmoeSharp.IO;

/// <summary>
/// Reads a small model file (config.json, the shard index, tokenizer.json) that may be hostile, within a size limit.
/// Every reader of such a file goes through here, so a FIFO, a device or a symbolic link is handled one way.
/// </summary>
internal static class UntrustedFile
{
    /// <summary>
    /// The whole of <paramref name="path"/>, which must hold between 1 and <paramref name="maxBytes"/> bytes. The size
    /// is checked before the file is opened: a FIFO or a device reports size 0, and opening or reading one could block
    /// forever or never end.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">The most a genuine file of this kind could hold.</param>
    /// <param name="description">What the file is, for messages ("config.json", "shard index", "tokenizer.json").</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The file is empty, too large, or changes size while being read.</exception>
    public static byte[] ReadAll(string path, long maxBytes, string description)
    {
        var info = Inspect(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: {description} not found.", path);
        if (info.Length == 0) throw new ModelFormatException(path, $"{description} is empty (or not a regular file).");
        if (info.Length > maxBytes) throw new ModelFormatException(path, $"{description} is {info.Length} bytes; at most {maxBytes} are accepted.");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 1);
        var content = new byte[info.Length];
        // Read exactly the size that was checked: a file that grows meanwhile must not turn into an unbounded read.
        int read = stream.ReadAtLeast(content, content.Length, throwOnEndOfStream: false);
        if (read != content.Length || stream.ReadByte() >= 0)
            throw new ModelFormatException(path, $"{description} changed size while being read.");
        return content;
    }

    /// <summary>
    /// The file <paramref name="path"/> names, through any symbolic links: the Hugging Face cache links every
    /// snapshot file to a blob, and a link's own size is the length of its target path, not of the file.
    /// </summary>
    public static FileInfo Inspect(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
    }
}
