namespace OlmoeSharp.Hub;

/// <summary>What went wrong in a <see cref="HubException"/>, so callers can react without parsing messages.</summary>
public enum HubErrorKind
{
    /// <summary>
    /// The text is neither an existing folder or file nor a valid repo id (<c>org/name</c>, <c>org/name:QUANT</c>), the
    /// quant tag after the colon is malformed, or the revision is.
    /// </summary>
    InvalidReference,

    /// <summary>The hub refused access (HTTP 401/403): a private or gated repo, and the token is missing, rejected or lacks access.</summary>
    Unauthorized,

    /// <summary>The repository does not exist (hub error code <c>RepoNotFound</c>).</summary>
    RepoNotFound,

    /// <summary>The branch, tag or commit does not exist in the repository (hub error code <c>RevisionNotFound</c>).</summary>
    RevisionNotFound,

    /// <summary>
    /// A required file does not exist at that revision (hub error code <c>EntryNotFound</c>), or no GGUF file of the repo
    /// carries the quant tag asked for (the message lists those it has).
    /// </summary>
    EntryNotFound,

    /// <summary>Offline mode is on and the model is not, or not completely, in the cache (for a quant tag: no cached GGUF file carries it).</summary>
    NotInCache,

    /// <summary>The connection failed, was cut or stalled; any partial file is kept so the next attempt resumes.</summary>
    Network,

    /// <summary>The server answered something a Hugging Face hub never sends (unexpected status, missing headers).</summary>
    InvalidResponse,

    /// <summary>The downloaded bytes do not match the size or sha256 the hub announced; they were discarded.</summary>
    ChecksumMismatch,

    /// <summary>The disk holding the cache is full, or lacks room for the file about to be downloaded.</summary>
    DiskFull,

    /// <summary>Another error while writing the cache (permissions, read-only file system).</summary>
    CacheWrite,

    /// <summary>
    /// The reference names no single file: several GGUF files carry the quant tag, or no tag was given and the repo holds
    /// several GGUF models, none with the default tag <c>Q4_K_M</c>. The message lists the tags to choose from.
    /// </summary>
    Ambiguous,

    /// <summary>The file exists but is in a form that cannot be loaded: a GGUF model split into parts (<c>-00001-of-00003.gguf</c>).</summary>
    Unsupported,
}
