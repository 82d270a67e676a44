using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Batching;

/// <summary>
/// A request's router observer inside a batched step: an exception it throws is kept, to fail that request alone,
/// instead of ending the step of every sequence in the batch.
/// </summary>
internal sealed class GuardedObserver(IRouterObserver inner) : IRouterObserver
{
    public Exception? Error { get; private set; }

    public void OnRouted(in RouterDecision decision)
    {
        if (Error is not null) return;
        try
        {
            inner.OnRouted(decision);
        }
        catch (Exception e)
        {
            Error = e;
        }
    }
}
