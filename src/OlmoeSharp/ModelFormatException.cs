namespace OlmoeSharp;

/// <summary>
/// Thrown when a model file (safetensors shard, shard index, config.json, tokenizer.json) is malformed,
/// inconsistent or unsupported. The message always names the file and, where one is at fault, the tensor or field.
/// </summary>
public sealed class ModelFormatException : IOException
{
    /// <summary>Creates the exception for a fault in <paramref name="filePath"/>.</summary>
    /// <param name="filePath">The file at fault.</param>
    /// <param name="detail">What is wrong, in one sentence.</param>
    /// <param name="item">The tensor or field at fault, if any.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public ModelFormatException(string filePath, string detail, string? item = null, Exception? inner = null)
        : base(Compose(filePath, detail, item), inner)
    {
        FilePath = filePath;
        Item = item;
    }

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor name or config field at fault, or null when the fault is in the file as a whole.</summary>
    public string? Item { get; }

    private static string Compose(string filePath, string detail, string? item) =>
        item is null ? $"{filePath}: {detail}" : $"{filePath}: '{item}': {detail}";
}
