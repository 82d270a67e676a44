using System.Diagnostics;
using OlmoeSharp.Model;

namespace OlmoeSharp.Batching;

/// <summary>
/// Continuous batching for one model: the generation loops of concurrent sequences submit their steps here (a prompt,
/// or one sampled token), and one thread runs what has gathered as a single forward pass over all of them
/// (<see cref="ForwardSegment"/>s) — each expert's and projection's weights read once for every token that needs
/// them, where one sequence after another would read them once each. Sequences join and leave at any step.
/// <para>
/// A step takes every waiting decode token first, then prompt chunks with the rest of the block (at most
/// <see cref="BatchingOptions.PrefillChunkTokens"/> per prompt while others decode, so nobody stalls for long); an
/// unfinished prompt goes to the back of the queue, so prompts take turns. Before a step the thread waits a moment
/// (<see cref="GatherWindow"/>) for admitted sequences that are still sampling their last token, so batches do not
/// split in two. Admission bounds the sequences running (<see cref="BatchingOptions.MaxSequences"/>) and waiting.
/// </para>
/// </summary>
internal sealed class StepScheduler : IDisposable
{
    /// <summary>How long a step waits for admitted sequences still sampling: ~1% of a full-size decode step.</summary>
    private static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(1.5);

    private readonly OlmoeModel _model;
    private readonly BatchingOptions _options;
    private readonly object _lock = new(); // a monitor: the step thread waits on it (Monitor.Wait) for requests
    private readonly List<StepRequest> _queue = [];
    private readonly List<SequenceLease> _running = [];
    private readonly LinkedList<TaskCompletionSource<SequenceLease>> _waiting = [];
    private Thread? _thread;
    private bool _disposed;
    private long _steps, _stepTokens, _stepSequences;

    public StepScheduler(OlmoeModel model, BatchingOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
    }

    public BatchingStatus Status
    {
        get
        {
            lock (_lock)
            {
                long bytes = 0;
                foreach (var lease in _running) bytes += lease.Session.CacheBytes;
                return new BatchingStatus(_running.Count, _waiting.Count, bytes, Interlocked.Read(ref _steps),
                    Interlocked.Read(ref _stepTokens), Interlocked.Read(ref _stepSequences));
            }
        }
    }

    /// <summary>
    /// A place for a sequence to generate in, at once when fewer than MaxSequences run, else when one leaves
    /// (first come, first served).
    /// </summary>
    /// <exception cref="BatchQueueFullException">MaxQueuedSequences already wait.</exception>
    public Task<SequenceLease> AdmitAsync(InferenceSession session, CancellationToken cancellationToken)
    {
        TaskCompletionSource<SequenceLease> waiter;
        LinkedListNode<TaskCompletionSource<SequenceLease>> node;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, _model);
            cancellationToken.ThrowIfCancellationRequested();
            if (_running.Count < _options.MaxSequences)
            {
                var lease = new SequenceLease(this, session);
                _running.Add(lease);
                return Task.FromResult(lease);
            }
            if (_waiting.Count >= _options.MaxQueuedSequences) throw new BatchQueueFullException(_running.Count, _waiting.Count);
            waiter = new TaskCompletionSource<SequenceLease>(session, TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiting.AddLast(waiter);
        }
        return WaitForPlaceAsync(waiter, node, cancellationToken);
    }

    private async Task<SequenceLease> WaitForPlaceAsync(TaskCompletionSource<SequenceLease> waiter, LinkedListNode<TaskCompletionSource<SequenceLease>> node, CancellationToken cancellationToken)
    {
        await using var registration = cancellationToken.Register(() =>
        {
            lock (_lock)
                if (node.List is not null) _waiting.Remove(node);
            waiter.TrySetCanceled(cancellationToken);
        });
        return await waiter.Task.ConfigureAwait(false);
    }

    /// <summary>A sequence leaves: its place goes to the first sequence still waiting.</summary>
    internal void Release(SequenceLease lease)
    {
        lock (_lock)
        {
            _running.Remove(lease);
            while (_waiting.First is { } first)
            {
                _waiting.RemoveFirst();
                var next = new SequenceLease(this, (InferenceSession)first.Value.Task.AsyncState!);
                _running.Add(next);
                if (first.Value.TrySetResult(next)) break;
                _running.Remove(next); // it was cancelled meanwhile
            }
            Monitor.PulseAll(_lock); // fewer sequences to wait for before a step
        }
    }

    /// <summary>
    /// Appends <paramref name="tokens"/> to <paramref name="session"/> in the coming steps; the task completes when all
    /// are cached, with the last one's next-token logits in <paramref name="logits"/> (length vocab_size). The session
    /// is in use until then. Cancelled while waiting, the request leaves at once; while in a step, when the step ends
    /// (a prompt's finished chunks stay cached). The session's observers, as set now, see its steps.
    /// </summary>
    public Task EvaluateAsync(InferenceSession session, ReadOnlySpan<int> tokens, float[] logits, CancellationToken cancellationToken)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to evaluate.", nameof(tokens));
        if (logits.Length != _model.Config.VocabSize) throw new ArgumentException($"logits must hold {_model.Config.VocabSize} values.", nameof(logits));
        session.ValidateAppend(tokens);
        session.Enter();
        StepRequest request;
        try
        {
            session.ReserveFor(tokens.Length);
            var observer = session.RouterObserver is null && session.ActivationObserver is null ? null : new GuardedObserver(session.RouterObserver, session.ActivationObserver);
            request = new StepRequest(session, tokens.ToArray(), logits, observer, cancellationToken);
            request.Registration = cancellationToken.Register(() => CancelWaiting(request));
        }
        catch
        {
            session.Exit();
            throw;
        }
        bool cancelled, queued = false;
        lock (_lock)
        {
            // Checked under the lock: a cancellation whose callback ran before the request was queued is seen here.
            cancelled = cancellationToken.IsCancellationRequested;
            if (!cancelled && !_disposed)
            {
                _queue.Add(request);
                _thread ??= StartThread();
                Monitor.PulseAll(_lock);
                queued = true;
            }
        }
        if (!queued) Finish(request, cancelled ? null : new ObjectDisposedException(nameof(OlmoeModel)), cancelled);
        return request.Completion.Task;
    }

    private Thread StartThread()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "OlmoeSharp batch steps" };
        thread.Start();
        return thread;
    }

    private void CancelWaiting(StepRequest request)
    {
        lock (_lock)
        {
            if (request.InFlight || !_queue.Remove(request)) return;
        }
        Finish(request, error: null, cancelled: true);
    }

    /// <summary>Ends a request: the session is free again before anyone awaiting the request resumes.</summary>
    private static void Finish(StepRequest request, Exception? error, bool cancelled)
    {
        request.Registration.Dispose();
        request.Session.Exit();
        if (error is not null) request.Completion.TrySetException(error);
        else if (cancelled) request.Completion.TrySetCanceled(request.CancellationToken);
        else request.Completion.TrySetResult();
    }

    private void Loop()
    {
        var config = _model.Config;
        var state = new RunState(config);
        var forward = new ForwardPass(config, _model.Weights, _model.Pool);
        var batch = new List<(StepRequest Request, int Count)>();
        var segments = new ForwardSegment[_options.MaxSequences];
        var tokens = new int[ForwardPass.MaxBlock];
        var logits = Array.Empty<float>();
        while (true)
        {
            lock (_lock)
            {
                if (!WaitForWork()) break;
                Select(batch);
            }
            if (batch.Count == 0) continue;
            if (segments.Length < batch.Count) segments = new ForwardSegment[batch.Count];
            int n = 0, rows = 0;
            for (int i = 0; i < batch.Count; i++)
            {
                var (request, count) = batch[i];
                bool last = count == request.Remaining;
                segments[i] = new ForwardSegment(request.Session.Cache, request.Session.Position, count, last ? 1 : 0, request.Observer?.Router, request.Observer?.Activations);
                request.Tokens.AsSpan(request.Done, count).CopyTo(tokens.AsSpan(n));
                n += count;
                rows += last ? 1 : 0;
            }
            if (logits.Length < rows * config.VocabSize) logits = new float[rows * config.VocabSize];
            Exception? failure = null;
            try
            {
                // One sequence alone is cancelled within a layer, as Evaluate is; a batch finishes its step (sequences
                // cancelled meanwhile leave after it), since the others' tokens are in it too.
                var token = batch.Count == 1 ? batch[0].Request.CancellationToken : CancellationToken.None;
                forward.Forward(state, tokens.AsSpan(0, n), segments.AsMemory(0, batch.Count), logits.AsSpan(0, rows * config.VocabSize), token);
            }
            catch (Exception e)
            {
                failure = e;
            }
            Array.Clear(segments, 0, batch.Count); // no finished session is kept alive by the scratch
            Interlocked.Increment(ref _steps);
            Interlocked.Add(ref _stepTokens, n);
            Interlocked.Add(ref _stepSequences, batch.Count);
            Complete(batch, failure, logits);
            batch.Clear();
        }
        FailQueued();
    }

    /// <summary>Under the lock: waits for a request, then briefly for admitted sequences still sampling. False once disposed.</summary>
    private bool WaitForWork()
    {
        while (_queue.Count == 0 && !_disposed) Monitor.Wait(_lock);
        if (_disposed) return false;
        if (_queue.Count < _running.Count)
        {
            long deadline = Stopwatch.GetTimestamp() + (long)(GatherWindow.TotalSeconds * Stopwatch.Frequency);
            while (_queue.Count < _running.Count && !_disposed)
            {
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (left <= TimeSpan.Zero) break;
                Monitor.Wait(_lock, left);
            }
        }
        return !_disposed;
    }

    /// <summary>Under the lock: the next step's requests and how many tokens each runs — decode tokens first, then prompt chunks.</summary>
    private void Select(List<(StepRequest Request, int Count)> batch)
    {
        int budget = ForwardPass.MaxBlock;
        for (int i = 0; i < _queue.Count && budget > 0; i++)
            if (_queue[i].Remaining == 1)
            {
                batch.Add((_queue[i], 1));
                budget--;
            }
        for (int i = 0; i < _queue.Count && budget > 0; i++)
        {
            var request = _queue[i];
            if (request.Remaining == 1) continue;
            int chunk = Math.Min(Math.Min(request.Remaining, budget), batch.Count > 0 ? _options.PrefillChunkTokens : ForwardPass.MaxBlock);
            batch.Add((request, chunk));
            budget -= chunk;
        }
        foreach (var (request, _) in batch)
        {
            _queue.Remove(request);
            request.InFlight = true;
        }
    }

    /// <summary>Applies a step to its sequences: finished ones complete, unfinished prompts queue again at the back.</summary>
    private void Complete(List<(StepRequest Request, int Count)> batch, Exception? failure, float[] logits)
    {
        int vocab = _model.Config.VocabSize, row = 0;
        foreach (var (request, count) in batch)
        {
            bool last = count == request.Remaining;
            var error = failure ?? request.Observer?.Error;
            if (error is null)
            {
                request.Session.Advance(request.Tokens.AsSpan(request.Done, count));
                request.Done += count;
                if (last) logits.AsSpan(row * vocab, vocab).CopyTo(request.Logits);
            }
            if (last) row++;
            if (error is OperationCanceledException && request.CancellationToken.IsCancellationRequested)
                Finish(request, null, cancelled: true);
            else if (error is not null)
                Finish(request, error, cancelled: false);
            else if (request.Remaining == 0)
                Finish(request, null, cancelled: false);
            else if (request.CancellationToken.IsCancellationRequested)
                Finish(request, null, cancelled: true);
            else
                lock (_lock)
                {
                    request.InFlight = false;
                    _queue.Add(request);
                }
        }
    }

    private void FailQueued()
    {
        List<StepRequest> left;
        lock (_lock)
        {
            left = [.. _queue];
            _queue.Clear();
        }
        foreach (var request in left) Finish(request, new ObjectDisposedException(nameof(OlmoeModel)), cancelled: false);
    }

    /// <summary>Stops the step thread after the step in progress (the weights it reads are about to be unmapped); waiting requests fail.</summary>
    public void Dispose()
    {
        Thread? thread;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            thread = _thread;
            Monitor.PulseAll(_lock);
            while (_waiting.First is { } first)
            {
                _waiting.RemoveFirst();
                first.Value.TrySetException(new ObjectDisposedException(nameof(OlmoeModel)));
            }
        }
        thread?.Join();
    }
}
