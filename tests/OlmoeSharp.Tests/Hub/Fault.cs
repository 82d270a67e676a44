namespace OlmoeSharp.Tests.Hub;

/// <summary>A fault injected into the next GET of one file's content.</summary>
internal enum FaultKind
{
    /// <summary>Send some bytes, then close the connection.</summary>
    Cut,

    /// <summary>Send some bytes, then keep the connection open sending nothing.</summary>
    Stall,

    /// <summary>Send the whole body with one byte flipped.</summary>
    Corrupt,

    /// <summary>Ignore the Range header and send everything with 200.</summary>
    IgnoreRange,
}

/// <summary>A fault and, for cuts and stalls, how many body bytes are sent first.</summary>
internal sealed record Fault(FaultKind Kind, int AfterBytes);
