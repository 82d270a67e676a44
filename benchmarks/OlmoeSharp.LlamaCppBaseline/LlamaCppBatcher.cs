using System.Numerics.Tensors;
using LLama;
using LLama.Native;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>
/// Continuous batching on llama.cpp, the way llama-server batches its parallel slots: one context holds every running
/// sequence under a seq_id of its own, and a driver thread forms each step as ONE llama_decode holding every decoding
/// sequence's next token, then prompt chunks of the sequences still reading their prompts, up to the context's batch
/// size (as llama-server's update_slots does). Sequences join and leave at any step; a cancelled one leaves at the
/// next step and its KV cells are removed. Sampling is greedy: the argmax of the sequence's logits.
/// </summary>
internal sealed class LlamaCppBatcher : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();
    private readonly int _batchTokens;
    private readonly Thread _driver;
    private readonly object _gate = new();
    private readonly List<Sequence> _waiting = []; // under _gate
    private bool _stopping; // under _gate
    private Exception? _fault; // under _gate: why the driver stopped, if it failed
    private readonly List<Sequence> _running = []; // the driver's (read under _gate by the driver only)
    private readonly Stack<LLamaSeqId> _freeIds = new(); // the driver's; the last freed is the next taken
    private long _steps;

    /// <param name="maxSequences">Sequences in the context at once (n_seq_max); more wait for a seq_id to free.</param>
    /// <param name="cellsPerSequence">KV cells each sequence gets: its prompt plus generated tokens must fit.</param>
    public LlamaCppBatcher(string ggufPath, int threads, int maxSequences, int cellsPerSequence)
    {
        LlamaCppRunner.ChooseLibrary();
        long most = (long)NativeApi.llama_max_parallel_sequences();
        if (maxSequences > most) throw new ArgumentException($"llama.cpp holds at most {most} sequences in a context, not {maxSequences}.");
        // llama.cpp pads each sequence's share of the context to 256 cells; asking for that spares its rounding warning.
        int cells = (cellsPerSequence + 255) / 256 * 256;
        // llama-server's defaults: n_batch 2048 tokens per llama_decode (llama.cpp clamps it to n_ctx), n_ubatch 512.
        var parameters = LlamaCppRunner.Parameters(ggufPath, threads, contextSize: (uint)(maxSequences * cells), batchSize: 2048);
        parameters.SeqMax = (uint)maxSequences;
        // A KV stream per sequence (llama-server with an explicit -np N): each token attends over its own sequence's
        // cells only, which LLamaSharp recommends when sequences share no prefix, as the benchmark's do not; the
        // context is split evenly, n_ctx / n_seq_max cells each.
        parameters.KVUnified = false;
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        VocabSize = _weights.Vocab.Count;
        TrainedContext = _weights.ContextSize;
        CellsPerSequence = (int)(_context.ContextSize / (uint)maxSequences);
        _batchTokens = (int)_context.BatchSize;
        for (int id = maxSequences - 1; id >= 0; id--) _freeIds.Push((LLamaSeqId)id);
        _driver = new Thread(Drive) { IsBackground = true, Name = "llama.cpp batch driver" };
        _driver.Start();
    }

    public int VocabSize { get; }

    /// <summary>The positions the model was trained for (the GGUF's context length).</summary>
    public int TrainedContext { get; }

    /// <summary>KV cells each sequence has, as llama.cpp split the context (at least the cells asked for).</summary>
    public int CellsPerSequence { get; }

    /// <summary>llama_decode calls so far, one per step.</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>
    /// Evaluates <paramref name="prompt"/> and decodes <paramref name="gen"/> tokens greedily alongside every other
    /// running sequence, calling <paramref name="onToken"/> (on the driver thread, so it must be quick) with each id.
    /// </summary>
    public Task GenerateAsync(int[] prompt, int gen, Action<int> onToken, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(prompt.Length);
        ArgumentOutOfRangeException.ThrowIfLessThan(gen, 1);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
        var sequence = new Sequence(prompt, gen, onToken, cancellationToken);
        lock (_gate)
        {
            if (_fault is not null) throw new InvalidOperationException("The llama.cpp batch driver has stopped.", _fault);
            ObjectDisposedException.ThrowIf(_stopping, this);
            _waiting.Add(sequence);
            Monitor.Pulse(_gate);
        }
        return sequence.Done.Task;
    }

    private void Drive()
    {
        try
        {
            while (Admit()) Step();
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _fault = e;
                foreach (var sequence in _running.Concat(_waiting)) sequence.Done.TrySetException(e);
                _running.Clear();
                _waiting.Clear();
            }
        }
    }

    /// <summary>
    /// Drops cancelled waiting sequences and gives free seq_ids to the longest waiting; sleeps while nothing runs or
    /// waits. False once disposed.
    /// </summary>
    private bool Admit()
    {
        lock (_gate)
        {
            while (!_stopping && _running.Count == 0 && _waiting.Count == 0) Monitor.Wait(_gate);
            if (_stopping) return false;
            _waiting.RemoveAll(s => s.CancellationToken.IsCancellationRequested && s.Done.TrySetCanceled(s.CancellationToken));
            int admitted = Math.Min(_waiting.Count, _freeIds.Count);
            foreach (var sequence in _waiting.Take(admitted))
            {
                sequence.Id = _freeIds.Pop();
                _running.Add(sequence);
            }
            _waiting.RemoveRange(0, admitted);
            return true;
        }
    }

    private void Step()
    {
        foreach (var sequence in _running)
            if (sequence.CancellationToken.IsCancellationRequested) Leave(sequence, new OperationCanceledException(sequence.CancellationToken));
        _running.RemoveAll(s => s.Done.Task.IsCompleted);
        if (_running.Count == 0) return;

        // Decoding sequences first, one token each, so a long prompt never holds them back; then prompt chunks in
        // the order the sequences joined, as many tokens as the batch has room for.
        _batch.Clear();
        int room = _batchTokens;
        foreach (var sequence in _running)
        {
            sequence.Fed = 0;
            sequence.LogitsIndex = -1;
            if (sequence.Cached < sequence.Prompt.Length) continue;
            if (sequence.Cached + 1 > CellsPerSequence)
            {
                Leave(sequence, new InvalidOperationException($"A sequence needs more than its {CellsPerSequence} KV cells."));
                continue;
            }
            sequence.LogitsIndex = _batch.Add(sequence.Next, sequence.Cached, sequence.Id, true);
            sequence.Fed = 1;
            room--;
        }
        foreach (var sequence in _running)
        {
            if (room == 0) break;
            int left = sequence.Prompt.Length - sequence.Cached;
            if (left <= 0) continue;
            if (sequence.Prompt.Length > CellsPerSequence)
            {
                Leave(sequence, new InvalidOperationException($"A {sequence.Prompt.Length}-token prompt does not fit a sequence's {CellsPerSequence} KV cells."));
                continue;
            }
            int chunk = Math.Min(left, room);
            for (int i = 0; i < chunk; i++)
            {
                int position = sequence.Cached + i;
                bool last = position == sequence.Prompt.Length - 1; // only the prompt's end is sampled
                int index = _batch.Add(sequence.Prompt[position], position, sequence.Id, last);
                if (last) sequence.LogitsIndex = index;
            }
            sequence.Fed = chunk;
            room -= chunk;
        }
        _running.RemoveAll(s => s.Done.Task.IsCompleted);
        if (_batch.TokenCount == 0) return;

        var result = _context.Decode(_batch);
        Interlocked.Increment(ref _steps);
        if (result != DecodeResult.Ok)
        {
            var failure = new InvalidOperationException($"llama_decode failed: {result}.");
            foreach (var sequence in _running) Leave(sequence, failure);
            _running.Clear();
            return;
        }
        foreach (var sequence in _running)
        {
            sequence.Cached += sequence.Fed;
            if (sequence.LogitsIndex < 0) continue;
            sequence.Next = TensorPrimitives.IndexOfMax(_context.NativeHandle.GetLogitsIth(sequence.LogitsIndex));
            sequence.Generated++;
            try
            {
                sequence.OnToken(sequence.Next);
            }
            catch (Exception e)
            {
                Leave(sequence, e); // an observer's failure ends its own sequence only
                continue;
            }
            if (sequence.Generated == sequence.Gen) Leave(sequence, null);
        }
        _running.RemoveAll(s => s.Done.Task.IsCompleted);
    }

    /// <summary>Frees a running sequence's KV cells and seq_id and completes it (faulted unless <paramref name="error"/> is null).</summary>
    private void Leave(Sequence sequence, Exception? error)
    {
        _context.NativeHandle.MemorySequenceRemove(sequence.Id, -1, -1);
        _freeIds.Push(sequence.Id);
        if (error is null) sequence.Done.TrySetResult();
        else if (error is OperationCanceledException) sequence.Done.TrySetCanceled(sequence.CancellationToken);
        else sequence.Done.TrySetException(error);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.Pulse(_gate);
        }
        _driver.Join();
        var disposed = new ObjectDisposedException(nameof(LlamaCppBatcher));
        foreach (var sequence in _running.Concat(_waiting)) sequence.Done.TrySetException(disposed);
        _context.Dispose();
        _weights.Dispose();
    }

    private sealed class Sequence(int[] prompt, int gen, Action<int> onToken, CancellationToken cancellationToken)
    {
        public int[] Prompt { get; } = prompt;
        public int Gen { get; } = gen;
        public Action<int> OnToken { get; } = onToken;
        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>Completed by the driver; continuations run elsewhere so a waiter never stalls the steps.</summary>
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LLamaSeqId Id { get; set; }

        /// <summary>Tokens in the KV cache, which is also the position of the next one fed.</summary>
        public int Cached { get; set; }

        public int Generated { get; set; }

        /// <summary>The last sampled token, fed at the next step.</summary>
        public int Next { get; set; }

        /// <summary>This step's tokens in the batch, and the batch index whose logits it samples (-1: none).</summary>
        public int Fed { get; set; }

        public int LogitsIndex { get; set; } = -1;
    }
}
