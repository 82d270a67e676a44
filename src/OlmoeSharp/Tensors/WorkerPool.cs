using System.Runtime.ExceptionServices;

namespace OlmoeSharp.Tensors;

/// <summary>A unit of data-parallel work: process items [start, end).</summary>
internal interface IRangeJob
{
    void Execute(int start, int end);
}

/// <summary>
/// Runs data-parallel jobs on the calling thread plus a few dedicated workers. Decoding one token makes hundreds
/// of small matrix-vector calls, each a few microseconds to a millisecond; a Task or Parallel.For per call would cost
/// as much as the work. Here a dispatch is a counter bump the spinning workers see at once; workers that find no
/// work for a while go to sleep on an event so an idle model costs no CPU. Items are handed out in chunks from an
/// atomic counter, so a thread that is slowed down (by the OS, by a busy sibling core) just takes fewer chunks.
/// Jobs from several threads (sessions sharing a model) run one after another.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps: long enough to bridge the gaps inside a token.</summary>
    private const int SpinIterationsBeforeSleep = 200_000;

    private readonly Worker[] _workers;
    private readonly Lock _dispatchLock = new();
    private IRangeJob? _job;
    private int _itemCount;
    private int _chunkSize;
    private int _nextItem;
    private int _busyWorkers;
    private int _generation;
    private volatile bool _disposed;
    private Exception? _workerError;

    public WorkerPool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ThreadCount = threadCount;
        _workers = new Worker[threadCount - 1];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new Worker(this, i);
    }

    /// <summary>Threads that work on a job, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>
    /// Runs job.Execute over [0, itemCount) in chunks of <paramref name="chunkSize"/> items and returns when all
    /// are done. A job of a single chunk runs inline.
    /// </summary>
    public void Run(IRangeJob job, int itemCount, int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        if (itemCount <= 0) return;
        if (_workers.Length == 0 || itemCount <= chunkSize)
        {
            job.Execute(0, itemCount);
            return;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_dispatchLock)
        {
            _job = job;
            _itemCount = itemCount;
            _chunkSize = chunkSize;
            _nextItem = 0;
            _workerError = null;
            Volatile.Write(ref _busyWorkers, _workers.Length);
            Interlocked.Increment(ref _generation);
            foreach (var worker in _workers) worker.Wake();

            try
            {
                ExecuteChunks(job);
            }
            finally
            {
                // Even when the caller's share threw, the workers must be done before the job's buffers are reused.
                var spinner = new SpinWait();
                while (Volatile.Read(ref _busyWorkers) != 0) spinner.SpinOnce(sleep1Threshold: -1);
                _job = null;
            }
            if (_workerError is { } error) ExceptionDispatchInfo.Throw(error);
        }
    }

    private void ExecuteChunks(IRangeJob job)
    {
        int count = _itemCount, chunk = _chunkSize;
        while (true)
        {
            int start = Interlocked.Add(ref _nextItem, chunk) - chunk;
            if (start >= count) return;
            job.Execute(start, Math.Min(start + chunk, count));
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var worker in _workers) worker.Stop();
    }

    private sealed class Worker
    {
        private readonly WorkerPool _pool;
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 1);
        private readonly Thread _thread;

        public Worker(WorkerPool pool, int index)
        {
            _pool = pool;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"OlmoeSharp worker {index + 1}" };
            _thread.Start();
        }

        public void Wake() => _wake.Set();

        public void Stop()
        {
            _wake.Set();
            _thread.Join();
            _wake.Dispose();
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                int generation = WaitForGeneration(seen);
                if (_pool._disposed) return;
                seen = generation;
                try
                {
                    if (_pool._job is { } job) _pool.ExecuteChunks(job);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _pool._workerError, e, null);
                    // Drain the remaining chunks so the dispatcher does not wait on work nobody will do.
                    Interlocked.Exchange(ref _pool._nextItem, int.MaxValue / 2);
                }
                Interlocked.Decrement(ref _pool._busyWorkers);
            }
        }

        private int WaitForGeneration(int seen)
        {
            for (int spin = 0; ; spin++)
            {
                int generation = Volatile.Read(ref _pool._generation);
                if (generation != seen || _pool._disposed) return generation;
                if (spin < SpinIterationsBeforeSleep)
                {
                    Thread.SpinWait(1);
                    continue;
                }
                // Reset, then re-check, so a dispatch between the check and the wait is never missed.
                _wake.Reset();
                if (Volatile.Read(ref _pool._generation) == seen && !_pool._disposed) _wake.Wait();
                spin = 0;
            }
        }
    }
}
