namespace OlmoeSharp.Hub;

/// <summary>What went wrong talking to the hub or its cache.</summary>
public enum HubErrorKind
{
    /// <summary>401/403: a token is missing, wrong, or lacks access.</summary>
    Unauthorized,
    /// <summary>The repository does not exist (or is private and no token was given).</summary>
    RepositoryNotFound,
    /// <summary>The revision (branch, tag or commit) does not exist.</summary>
    RevisionNotFound,
    /// <summary>A required file is not in the repository.</summary>
    FileNotFound,
    /// <summary>The network failed or the server answered unexpectedly.</summary>
    Network,
    /// <summary>A downloaded file's sha256 differs from the one the hub announced.</summary>
    ChecksumMismatch,
    /// <summary>Offline, and the model is not in the cache.</summary>
    NotInCache,
    /// <summary>The cache could not be written (disk full, permissions).</summary>
    Storage,
    /// <summary>The repository's files are not those of a loadable model (say, a hostile shard name).</summary>
    InvalidRepository,
}

/// <summary>A hub download or cache lookup failed; the message names the repository and file.</summary>
public sealed class HubException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HubException(HubErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;

    /// <summary>What went wrong.</summary>
    public HubErrorKind Kind { get; }
}
