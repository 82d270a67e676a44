using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OlmoeSharp.Batching;
using OlmoeSharp.Scoring;
using OlmoeSharp.Telemetry;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Generation;

/// <summary>
/// Streams text from a model: encodes the prompt, processes it as a batch, then samples one token at a time over
/// the KV cache, decoding each into text as soon as it forms whole characters. Thread-safe: each call runs in its
/// own <see cref="InferenceSession"/>, so one generator serves concurrent requests. Without a tokenizer it still
/// generates from token ids (the updates then carry ids and no text).
/// <para>
/// Concurrent generations on one model — through any generators, chats or chat clients over it — are batched: each
/// step of the model runs the next token of every running generation and chunks of waiting prompts as one forward
/// pass (<see cref="ModelLoadOptions.Batching"/> bounds how many run and wait; one more throws
/// <see cref="Batching.BatchQueueFullException"/> from the enumeration). Each gets the tokens it would get alone.
/// </para>
/// <para>
/// Prefix caching: finished requests leave their session idle in a small pool (<see cref="MaxIdleSessions"/>,
/// <see cref="MaxIdleCacheBytes"/>); a new request — or a <see cref="ChatSession"/> turn — leases the idle session that
/// holds the longest prefix of its prompt and evaluates only the rest, so requests sharing a long system prompt or
/// document process it once. The results are those of recomputing (the cached keys and values are the same numbers).
/// </para>
/// </summary>
public sealed class TextGenerator
{
    private readonly HashSet<int> _endOfText;
    private SessionPool? _pool;

    /// <summary>Creates a generator over a loaded model and its tokenizer (by default the model's own).</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">The tokenizer; the model's own by default.</param>
    /// <param name="logger">Receives each generation's start and end (token counts, speeds, finish reason) at Debug level; none by default.</param>
    public TextGenerator(OlmoeModel model, OlmoeTokenizer? tokenizer = null, ILogger? logger = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = tokenizer ?? model.Tokenizer;
        Logger = logger ?? NullLogger.Instance;
        _endOfText = [.. model.Config.EosTokenIds];
        if (Tokenizer is { EndOfTextId: >= 0 } t) _endOfText.Add(t.EndOfTextId);
    }

    /// <summary>The model.</summary>
    public OlmoeModel Model { get; }

    /// <summary>Idle sessions kept for prefix caching (least recently used evicted first); 0 turns prefix caching off. Default 4.</summary>
    public int MaxIdleSessions
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxIdleSessions), value, "must be 0 or more.");
    } = 4;

    /// <summary>
    /// Bound on the KV cache bytes the idle sessions hold together (allocated storage, see
    /// <see cref="InferenceSession.CacheBytes"/>). Default 2 GiB: eight 1,000-token sessions of the full model in float32.
    /// </summary>
    public long MaxIdleCacheBytes
    {
        get;
        init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxIdleCacheBytes), value, "must be 0 or more.");
    } = 2L << 30;

    internal SessionPool Pool => LazyInitializer.EnsureInitialized(ref _pool, () => new SessionPool(Model, MaxIdleSessions, MaxIdleCacheBytes));

    /// <summary>The tokenizer, or null when the model folder has none.</summary>
    public OlmoeTokenizer? Tokenizer { get; }

    /// <summary>
    /// Sees the routing of every token the generator's sessions evaluate (prompt and generated tokens; those of a
    /// <see cref="ChatSession"/> over this generator too). Generations running at once call it at once. Null by
    /// default: no cost.
    /// </summary>
    public IRouterObserver? RouterObserver { get; init; }

    /// <summary>
    /// Sees the named intermediate activations of every token the generator's sessions evaluate, each generation its
    /// own rows (see <see cref="IActivationObserver"/>); generations running at once call it at once. Null by default: no cost.
    /// </summary>
    public IActivationObserver? ActivationObserver { get; init; }

    /// <summary>Where the generator (and the <see cref="ChatSession"/>s over it) log; <see cref="NullLogger.Instance"/> when none was given.</summary>
    public ILogger Logger { get; }

    /// <summary>The tokenizer, or a clear error for text-level calls on a model without one.</summary>
    internal OlmoeTokenizer RequireTokenizer() => Tokenizer
        ?? throw new InvalidOperationException($"{Model.Directory} has no tokenizer.json; pass token ids, or give the generator a tokenizer.");

    /// <summary>Generates a continuation of <paramref name="prompt"/> (plain text; no chat template is applied).</summary>
    /// <exception cref="ArgumentException">The prompt is empty, an option is invalid, or prompt + MaxNewTokens exceed the context.</exception>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return GenerateAsync(RequireTokenizer().Encode(prompt), options, cancellationToken);
    }

    /// <summary>Generates a continuation of the given prompt tokens.</summary>
    /// <exception cref="ArgumentException">The prompt is empty, holds ids outside the vocabulary, an option is invalid, or prompt + MaxNewTokens exceed the context.</exception>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(IReadOnlyList<int> promptTokens, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptTokens);
        options ??= new GenerationOptions();
        options.Validate();
        if (promptTokens.Count == 0) throw new ArgumentException("the prompt is empty.", nameof(promptTokens));
        CheckContext(promptTokens.Count, Model.Config.MaxPositionEmbeddings, options);
        Model.ThrowIfDisposed();
        return RunPooledAsync([.. promptTokens], options, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> (the whole prompt) in the pooled session holding its longest prefix, returning the
    /// session to the pool at the end, however the enumeration ends. <paramref name="finished"/> sees the session first.
    /// </summary>
    internal async IAsyncEnumerable<GenerationUpdate> RunPooledAsync(List<int> tokens, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken, Action<InferenceSession>? finished = null)
    {
        var (session, reused) = Pool.Lease(tokens);
        // Sessions are leased per request: the observers go with the lease (and leave with it: pooled sessions are shared).
        session.RouterObserver = RouterObserver;
        session.ActivationObserver = ActivationObserver;
        try
        {
            await foreach (var update in RunAsync(session, tokens, tokens.Count - reused, options, cancellationToken, reused))
                yield return update;
            finished?.Invoke(session);
        }
        finally
        {
            session.RouterObserver = null;
            session.ActivationObserver = null;
            Pool.Return(session);
        }
    }

    /// <summary>Refuses a request that would run past the context window rather than attend wrongly.</summary>
    internal static void CheckContext(int promptTokens, int contextLength, GenerationOptions options)
    {
        if ((long)promptTokens + options.MaxNewTokens > contextLength)
            throw new ArgumentException(
                $"{promptTokens} prompt tokens + {options.MaxNewTokens} new tokens exceed the context window of {contextLength}; shorten the prompt or lower MaxNewTokens.",
                nameof(options));
    }

    /// <summary>The constraint of <paramref name="options"/>' response format (null for free text), refused when its document cannot fit in MaxNewTokens.</summary>
    private Constraints.TokenConstraint? CreateConstraint(GenerationOptions options)
    {
        if (options.ResponseFormat.Kind == ResponseFormatKind.Text) return null;
        var tokenizer = Tokenizer ?? throw new InvalidOperationException("a response format needs a tokenizer to know the bytes of each token.");
        var constraint = options.ResponseFormat.CreateConstraint(tokenizer, _endOfText)!;
        if (constraint.TokensToFinish > options.MaxNewTokens)
            throw new ArgumentException($"the shortest document of the response format takes {constraint.TokensToFinish} tokens, more than MaxNewTokens = {options.MaxNewTokens}.", nameof(options));
        return constraint;
    }

    /// <summary>
    /// The generation loop. <paramref name="tokens"/> holds every token of the sequence (for the repetition penalty);
    /// its last <paramref name="pending"/> are not yet in the session's cache. Generated tokens are appended to it.
    /// </summary>
    internal async IAsyncEnumerable<GenerationUpdate> RunAsync(InferenceSession session, List<int> tokens, int pending,
        GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken, int cached = 0)
    {
        var sampler = new Sampler(options, Math.Min(Tokenizer?.VocabularySize ?? int.MaxValue, Model.Config.VocabSize));
        var decoder = Tokenizer?.CreateStreamingDecoder(skipSpecialTokens: true);
        if (decoder is null && options.StopSequences.Count > 0)
            throw new InvalidOperationException("stop sequences need a tokenizer to see the generated text.");
        var stops = new StopSequenceMatcher(options.StopSequences);
        var constraint = CreateConstraint(options);
        var logits = new float[Model.Config.VocabSize];
        var logProbabilities = options.LogProbs ? new NextTokenLogProbabilities(Model.Config.VocabSize, options.TopLogProbs) : null;
        int promptTokens = pending, generated = 0;
        // A place among the sequences the model batches; waiting for one counts as prompt time.
        var clock = Stopwatch.StartNew();
        var lease = await AdmitAsync(session, cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            yield return new GenerationUpdate("", null, FinishReason.Cancelled, new GenerationUsage(promptTokens, 0, 0, 0) { CachedPromptTokens = cached });
            yield break;
        }
        using var _ = lease;
        Log.GenerationStarted(Logger, tokens.Count, pending, options.MaxNewTokens);
        double promptSeconds = 0;
        var finish = FinishReason.Length;

        while (true)
        {
            // The prompt on the first pass, then each sampled token, runs in the model's next batched step.
            int start = tokens.Count - pending, count = pending;
            try
            {
                await Model.Scheduler.EvaluateAsync(session, CollectionsMarshal.AsSpan(tokens).Slice(start, count), logits, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                finish = FinishReason.Cancelled;
                break;
            }
            if (generated == 0) promptSeconds = clock.Elapsed.TotalSeconds;
            if (generated >= options.MaxNewTokens || session.Position >= session.ContextLength) break;

            constraint?.Mask(logits, Math.Min(options.MaxNewTokens - generated, session.ContextLength - session.Position));
            int id = sampler.Sample(logits, CollectionsMarshal.AsSpan(tokens));
            var chosen = logProbabilities?.Measure(logits, id);
            generated++;
            if (_endOfText.Contains(id) && !options.IgnoreEndOfText)
            {
                finish = FinishReason.Stop;
                break;
            }
            tokens.Add(id);
            constraint?.Advance(id);
            string text = decoder is null ? "" : stops.Append(decoder.Append(id));
            yield return new GenerationUpdate(text, id) { LogProbabilities = chosen };
            if (stops.Stopped || constraint is { IsComplete: true })
            {
                finish = FinishReason.Stop;
                break;
            }
            if (generated >= options.MaxNewTokens) break;
            pending = 1;
        }

        // What the decoder and the stop matcher still hold becomes final now, unless a stop sequence cut it off.
        string rest = stops.Stopped || decoder is null ? "" : stops.Append(decoder.Flush()) + stops.Flush();
        double decodeSeconds = clock.Elapsed.TotalSeconds - promptSeconds;
        var usage = new GenerationUsage(
            promptTokens,
            generated,
            promptSeconds > 0 ? promptTokens / promptSeconds : 0,
            generated > 1 && decodeSeconds > 0 ? (generated - 1) / decodeSeconds : 0) { CachedPromptTokens = cached };
        Log.GenerationFinished(Logger, generated, finish.ToString(), usage.PromptTokensPerSecond, usage.DecodeTokensPerSecond);
        yield return new GenerationUpdate(rest, null, finish, usage);
    }

    /// <summary>A place among the model's batched sequences, or null when cancelled while waiting for one.</summary>
    private async Task<SequenceLease?> AdmitAsync(InferenceSession session, CancellationToken cancellationToken)
    {
        try
        {
            return await Model.Scheduler.AdmitAsync(session, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }
}
