namespace OlmoeSharp.Hub;

/// <summary>
/// Thrown when a model cannot be resolved or downloaded from the Hugging Face hub. The message names the repo and,
/// where one is at fault, the file, and says what to do; <see cref="Kind"/> tells the failure apart for code.
/// </summary>
public sealed class HubException : Exception
{
    /// <summary>Creates the exception for a failure with <paramref name="repoId"/>.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="repoId">The repo id (or the text given in its place).</param>
    /// <param name="fileName">The file at fault, if any.</param>
    /// <param name="detail">What is wrong and what to do, in one or two sentences.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public HubException(HubErrorKind kind, string repoId, string? fileName, string detail, Exception? inner = null)
        : base(Compose(repoId, fileName, detail), inner)
    {
        Kind = kind;
        RepoId = repoId;
        FileName = fileName;
    }

    /// <summary>What went wrong.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>The repo id the failure is about.</summary>
    public string RepoId { get; }

    /// <summary>The file at fault, or null when the failure concerns the repo as a whole.</summary>
    public string? FileName { get; }

    /// <summary>The quant tag asked for (<c>org/name:TAG</c>) when the failure is about choosing a GGUF file by it, else null.</summary>
    public string? QuantTag { get; init; }

    /// <summary>The HTTP status the hub answered, when the failure is an HTTP error.</summary>
    public int? StatusCode { get; init; }

    private static string Compose(string repoId, string? fileName, string detail) =>
        fileName is null ? $"{repoId}: {detail}" : $"{repoId}, file '{fileName}': {detail}";
}
