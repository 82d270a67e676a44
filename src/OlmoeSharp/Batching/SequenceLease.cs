namespace OlmoeSharp.Batching;

/// <summary>A running sequence's place in a <see cref="StepScheduler"/>; disposing it gives the place to the next waiting sequence.</summary>
internal sealed class SequenceLease(StepScheduler scheduler, InferenceSession session) : IDisposable
{
    private int _released;

    public InferenceSession Session { get; } = session;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) scheduler.Release(this);
    }
}
