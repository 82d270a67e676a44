namespace OlmoeSharp.Batching;

/// <summary>
/// A generation was refused because <see cref="BatchingOptions.MaxSequences"/> sequences are running and
/// <see cref="BatchingOptions.MaxQueuedSequences"/> are already waiting. Nothing was started; retry later.
/// </summary>
public sealed class BatchQueueFullException : InvalidOperationException
{
    /// <summary>Creates the exception with the limits that were reached.</summary>
    public BatchQueueFullException(int running, int queued)
        : base($"{running} sequences are generating and {queued} are waiting, the most this model's BatchingOptions allow; retry later.")
    {
        Running = running;
        Queued = queued;
    }

    /// <summary>Sequences running when the request was refused.</summary>
    public int Running { get; }

    /// <summary>Sequences waiting when the request was refused.</summary>
    public int Queued { get; }
}
