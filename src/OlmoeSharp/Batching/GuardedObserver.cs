using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Batching;

/// <summary>
/// A request's observers inside a batched step: an exception one throws is kept, to fail that request alone, instead
/// of ending the step of every sequence in the batch. After the first error neither observer is called again.
/// </summary>
internal sealed class GuardedObserver(IRouterObserver? router, IActivationObserver? activations) : IRouterObserver, IActivationObserver
{
    public Exception? Error { get; private set; }

    /// <summary>This, as the segment's router observer, when the request has one.</summary>
    public IRouterObserver? Router => router is null ? null : this;

    /// <summary>This, as the segment's activation observer, when the request has one.</summary>
    public IActivationObserver? Activations => activations is null ? null : this;

    public void OnRouted(in RouterDecision decision)
    {
        if (Error is not null) return;
        try
        {
            router!.OnRouted(decision);
        }
        catch (Exception e)
        {
            Error = e;
        }
    }

    public void OnActivation(in Activation activation)
    {
        if (Error is not null) return;
        try
        {
            activations!.OnActivation(activation);
        }
        catch (Exception e)
        {
            Error = e;
        }
    }
}
