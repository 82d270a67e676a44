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
    private readonly KvCache _cache;
    private readonly ForwardSegment[] _segment = new ForwardSegment[1];
    // The activations and jobs of Evaluate, made on its first call: a session that only runs in the model's batched
    // steps (text generation) never needs its own.
    private RunState? _state;
    private ForwardPass? _forward;
    private int[] _tokens = [];
    private int _busy;

    internal InferenceSession(OlmoeModel model)
    {
        _model = model;
        var c = model.Config;
        _cache = new KvCache(c.NumHiddenLayers, c.NumKeyValueHeads, c.HeadDim, c.MaxPositionEmbeddings, precision: model.KvCachePrecision);
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
    public long StateBytesPerToken => _cache.BytesPerPosition + sizeof(int);

    /// <summary>Bytes of KV cache storage the session has allocated.</summary>
    public long CacheBytes => _cache.AllocatedBytes;

    /// <summary>The session's keys and values.</summary>
    internal KvCache Cache => _cache;

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
            SessionStateFormat.Write(stream, _model.Config, _model.WeightsFingerprint, _cache, Tokens);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Sets the tokens a freshly read cache holds (<see cref="SessionStateFormat.Read"/>).</summary>
    internal void Restore(int[] tokens)
    {
        _tokens = tokens.Length >= _cache.Capacity ? tokens : [.. tokens, .. new int[_cache.Capacity - tokens.Length]];
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
            _cache.CopyPrefixFrom(source._cache, positions);
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
        if (_tokens.Length < _cache.Capacity) Array.Resize(ref _tokens, _cache.Capacity);
    }

    /// <summary>
    /// Sees every routing decision of the following <see cref="Evaluate"/> calls (per layer and token: the chosen
    /// experts, their weights, the router's probabilities), or null (the default: no cost). Set it between calls.
    /// </summary>
    public IRouterObserver? RouterObserver { get; set; }

    /// <summary>
    /// Sees the named intermediate activations (<see cref="ActivationName"/>) of the following <see cref="Evaluate"/>
    /// calls and generation steps, or null (the default: no cost). Set it between calls.
    /// </summary>
    public IActivationObserver? ActivationObserver { get; set; }

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
        ValidateAppend(tokens);
        Enter();
        try
        {
            _model.ThrowIfDisposed();
            ReserveFor(tokens.Length); // once for the whole prompt, not block by block
            _state ??= new RunState(_model.Config);
            _forward ??= new ForwardPass(_model.Config, _model.Weights, _model.Pool);
            // A prompt runs in blocks: each expert's weights are read once per block, not once per token.
            for (int start = 0; start < tokens.Length; start += ForwardPass.MaxBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(ForwardPass.MaxBlock, tokens.Length - start);
                bool last = start + count == tokens.Length;
                var rows = allRows ? logits.Slice(start * vocab, count * vocab) : last ? logits : Span<float>.Empty;
                _segment[0] = new ForwardSegment(_cache, Position, count, rows.Length / vocab, RouterObserver, ActivationObserver);
                _forward.Forward(_state, tokens.Slice(start, count), _segment, rows, cancellationToken);
                Advance(tokens.Slice(start, count));
            }
        }
        finally
        {
            _segment[0] = default; // the cache and observer are not kept alive by a finished call
            Exit();
        }
    }

    /// <summary>Refuses tokens outside the vocabulary, or more than the context has room for after what is cached.</summary>
    internal void ValidateAppend(ReadOnlySpan<int> tokens)
    {
        ValidateTokens(tokens);
        if (Position + tokens.Length > ContextLength)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"{Position} cached + {tokens.Length} new tokens exceed the context of {ContextLength}.");
    }

    /// <summary>Makes room in the cache for <paramref name="count"/> more positions.</summary>
    internal void ReserveFor(int count)
    {
        _cache.EnsureCapacity(Position + count);
        EnsureTokenCapacity();
    }

    /// <summary>Records <paramref name="tokens"/>, whose keys and values a forward pass just cached, as processed.</summary>
    internal void Advance(ReadOnlySpan<int> tokens)
    {
        tokens.CopyTo(_tokens.AsSpan(Position));
        Position += tokens.Length;
        _model.CountEvaluated(tokens.Length);
    }

    /// <summary>Marks the session in use by one caller (a batched step, or <see cref="Evaluate"/>); concurrent use throws.</summary>
    internal void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
            throw new InvalidOperationException("This session is already in use on another thread; create one session per concurrent sequence.");
    }

    internal void Exit() => Volatile.Write(ref _busy, 0);

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

}
