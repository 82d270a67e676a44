using OlmoeSharp.Model;
using OlmoeSharp.Telemetry;

namespace OlmoeSharp;

/// <summary>
/// One sequence being processed: a KV cache over an <see cref="OlmoeModel"/>. Feed tokens with
/// <see cref="Evaluate"/>; each call continues where the last one stopped. A session is used by one thread at a time
/// (concurrent calls throw); use one session per conversation.
/// </summary>
public sealed class InferenceSession
{
    private readonly OlmoeModel _model;
    private readonly RunState _state;
    private readonly ForwardPass _forward;
    private int[] _tokens = [];
    private int _busy;

    internal InferenceSession(OlmoeModel model)
    {
        _model = model;
        _state = new RunState(model.Config, model.KvCachePrecision);
        _forward = new ForwardPass(model.Config, model.Weights, model.Pool);
    }

    /// <summary>The model this session runs.</summary>
    public OlmoeModel Model => _model;

    /// <summary>Tokens processed so far: the position the next token takes.</summary>
    public int Position { get; private set; }

    /// <summary>Positions the session can hold in all (the model's max_position_embeddings).</summary>
    public int ContextLength => _model.Config.MaxPositionEmbeddings;

    /// <summary>The tokens the cache holds, one per position (valid until the next call that changes the session).</summary>
    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Position);

    /// <summary>
    /// Bytes <see cref="SaveState"/> writes per position: layers × 2 × kvHeads × headDim × 4 (float32 cache) or 2 (bf16),
    /// plus 4 for the token id — 262,148 on the full-size model in float32 (1.0 GB for 4,000 tokens), 131,076 in bf16.
    /// </summary>
    public long StateBytesPerToken => _state.Cache.BytesPerPosition + sizeof(int);

    /// <summary>Bytes of KV cache storage the session has allocated.</summary>
    public long CacheBytes => _state.Cache.AllocatedBytes;

    internal RunState State => _state;

    /// <summary>
    /// Writes the session — the tokens it holds and their keys and values — to <paramref name="stream"/> in a
    /// versioned, checksummed binary format tied to this model (its config and a fingerprint of its weights), which
    /// <see cref="OlmoeModel.LoadSession"/> reads back into a session that continues exactly as this one would.
    /// Takes 72 + <see cref="Position"/> × <see cref="StateBytesPerToken"/> bytes (256 KiB per token on the full model
    /// with a float32 cache); the cache is written head by head in large spans.
    /// </summary>
    public void SaveState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Enter();
        try
        {
            _model.ThrowIfDisposed();
            SessionStateFormat.Write(stream, _model.Config, _model.WeightsFingerprint, _state.Cache, Tokens);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Sets the tokens a freshly read cache holds (<see cref="SessionStateFormat.Read"/>).</summary>
    internal void Restore(int[] tokens)
    {
        _tokens = tokens.Length >= _state.Cache.Capacity ? tokens : [.. tokens, .. new int[_state.Cache.Capacity - tokens.Length]];
        Position = tokens.Length;
    }

    /// <summary>
    /// Replaces this session's contents with the first <paramref name="positions"/> positions of <paramref name="source"/>
    /// (a copy of keys, values and tokens — much cheaper than recomputing them). Neither session may be in use.
    /// </summary>
    internal void CopyPrefixFrom(InferenceSession source, int positions)
    {
        if (source._model != _model) throw new ArgumentException("the sessions belong to different models.", nameof(source));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(positions, source.Position);
        Enter();
        try
        {
            _state.EnsurePositions(positions);
            _state.Cache.CopyPrefixFrom(source._state.Cache, positions);
            EnsureTokenCapacity();
            source.Tokens[..positions].CopyTo(_tokens);
            Position = positions;
        }
        finally
        {
            Exit();
        }
    }

    private void EnsureTokenCapacity()
    {
        if (_tokens.Length < _state.Cache.Capacity) Array.Resize(ref _tokens, _state.Cache.Capacity);
    }

    /// <summary>
    /// Sees every routing decision of the following <see cref="Evaluate"/> calls (per layer and token: the chosen
    /// experts, their weights, the router's probabilities), or null (the default: no cost). Set it between calls.
    /// </summary>
    public IRouterObserver? RouterObserver { get; set; }

    /// <summary>
    /// Processes <paramref name="tokens"/> after what the session holds. <paramref name="logits"/> receives either the
    /// last token's next-token logits (length vocab_size), every token's (length tokens × vocab_size, row-major), or
    /// nothing (empty).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A token is outside the vocabulary, or the context would overflow.</exception>
    /// <exception cref="ArgumentException"><paramref name="logits"/> has another length.</exception>
    public void Evaluate(ReadOnlySpan<int> tokens, Span<float> logits, CancellationToken cancellationToken = default)
    {
        int vocab = _model.Config.VocabSize;
        bool allRows = logits.Length == (long)tokens.Length * vocab && tokens.Length > 1;
        if (!logits.IsEmpty && logits.Length != vocab && !allRows)
            throw new ArgumentException($"logits must be empty, {vocab} (last row) or {tokens.Length} × {vocab} (every row) long; it is {logits.Length}.", nameof(logits));
        ValidateTokens(tokens);
        if (Position + tokens.Length > ContextLength)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"{Position} cached + {tokens.Length} new tokens exceed the context of {ContextLength}.");
        Enter();
        try
        {
            _model.ThrowIfDisposed();
            _state.EnsurePositions(Position + tokens.Length); // once for the whole prompt, not block by block
            EnsureTokenCapacity();
            // A prompt runs in blocks: each expert's weights are read once per block, not once per token.
            for (int start = 0; start < tokens.Length; start += ForwardPass.MaxBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(ForwardPass.MaxBlock, tokens.Length - start);
                bool last = start + count == tokens.Length;
                var rows = allRows ? logits.Slice(start * vocab, count * vocab) : last ? logits : Span<float>.Empty;
                _forward.Forward(_state, tokens.Slice(start, count), Position, rows, cancellationToken, RouterObserver);
                tokens.Slice(start, count).CopyTo(_tokens.AsSpan(Position));
                Position += count;
                _model.CountEvaluated(count);
            }
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Forgets everything after the first <paramref name="position"/> tokens (to re-use a shared prefix).</summary>
    public void Truncate(int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        Enter();
        Position = position;
        Exit();
    }

    /// <summary>Empties the cache.</summary>
    public void Reset() => Truncate(0);

    private void ValidateTokens(ReadOnlySpan<int> tokens)
    {
        int vocab = _model.Config.VocabSize;
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token {tokens[i]} at index {i} is outside the vocabulary [0, {vocab}).");
    }

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("This session is already in use on another thread; create one session per concurrent sequence.");
    }

    private void Exit() => Volatile.Write(ref _busy, 0);
}
