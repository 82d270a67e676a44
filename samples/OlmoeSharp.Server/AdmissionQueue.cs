namespace OlmoeSharp.Server;

/// <summary>
/// Bounds the work the server takes on, counted in sequences (a request with <c>n</c> choices is <c>n</c>): at most
/// <c>maxRunning</c> run at once, at most <c>maxWaiting</c> wait, first come first served; a request that finds the
/// queue full is refused at once (429) instead of waiting without bound. A waiting request whose client goes away
/// leaves the queue at once.
/// </summary>
internal sealed class AdmissionQueue(int maxRunning, int maxWaiting)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiting = new();
    private int _running, _queued;

    /// <summary>Sequences running now.</summary>
    public int Running
    {
        get { lock (_lock) return _running; }
    }

    /// <summary>Sequences waiting now (the queue depth).</summary>
    public int Waiting
    {
        get { lock (_lock) return _queued; }
    }

    public int MaxRunning => maxRunning;

    public int MaxWaiting => maxWaiting;

    /// <summary>Waits for room for <paramref name="sequences"/>; dispose the lease when they are done.</summary>
    /// <exception cref="ApiException">429: the queue is full.</exception>
    /// <exception cref="OperationCanceledException">The client went away while waiting.</exception>
    public async ValueTask<Lease> EnterAsync(int sequences, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequences, maxRunning);
        Waiter waiter;
        LinkedListNode<Waiter> node;
        lock (_lock)
        {
            // Nobody overtakes a waiting request, so a large one is not starved by a stream of small ones.
            if (_waiting.Count == 0 && _running + sequences <= maxRunning)
            {
                _running += sequences;
                return new Lease(this, sequences);
            }
            if (_queued + sequences > maxWaiting)
                throw new ApiException(429, $"the server is at capacity ({_running} sequences running, {_queued} waiting); retry shortly.", code: "queue_full")
                {
                    RetryAfterSeconds = 1,
                };
            waiter = new Waiter(sequences);
            node = _waiting.AddLast(waiter);
            _queued += sequences;
        }
        await using (cancellationToken.Register(() => Abandon(node)))
            await waiter.Admitted.Task.ConfigureAwait(false);
        return new Lease(this, sequences);
    }

    private void Abandon(LinkedListNode<Waiter> node)
    {
        lock (_lock)
        {
            if (node.List is null) return; // admitted meanwhile: the lease will be disposed by its owner
            _waiting.Remove(node);
            _queued -= node.Value.Sequences;
            node.Value.Admitted.TrySetCanceled();
            AdmitWaiting(); // the abandoned one may have been holding up smaller ones behind it
        }
    }

    private void Release(int sequences)
    {
        lock (_lock)
        {
            _running -= sequences;
            AdmitWaiting();
        }
    }

    private void AdmitWaiting()
    {
        while (_waiting.First is { } first && _running + first.Value.Sequences <= maxRunning)
        {
            _waiting.RemoveFirst();
            _queued -= first.Value.Sequences;
            _running += first.Value.Sequences;
            first.Value.Admitted.TrySetResult();
        }
    }

    private sealed class Waiter(int sequences)
    {
        public int Sequences { get; } = sequences;

        public TaskCompletionSource Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Room for a request's sequences; disposing it (once or more) gives the room back.</summary>
    public sealed class Lease(AdmissionQueue queue, int sequences) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) queue.Release(sequences);
        }
    }
}
