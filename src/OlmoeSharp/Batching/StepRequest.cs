namespace OlmoeSharp.Batching;

/// <summary>
/// One call of <see cref="StepScheduler.EvaluateAsync"/>: tokens to append to a session (a prompt, run over as many
/// steps as its chunks take, or one sampled token), and where its last token's logits go.
/// </summary>
internal sealed class StepRequest(InferenceSession session, int[] tokens, float[] logits, GuardedObserver? observer, CancellationToken cancellationToken)
{
    public InferenceSession Session { get; } = session;
    public int[] Tokens { get; } = tokens;
    public float[] Logits { get; } = logits;
    public GuardedObserver? Observer { get; } = observer;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Completed when every token is processed (or the request failed or was cancelled); continuations run off the scheduler's thread.</summary>
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Tokens processed so far.</summary>
    public int Done { get; set; }

    public int Remaining => Tokens.Length - Done;

    /// <summary>Whether a step holds it now (then only the scheduler's thread completes it).</summary>
    public bool InFlight { get; set; }

    public CancellationTokenRegistration Registration { get; set; }
}
