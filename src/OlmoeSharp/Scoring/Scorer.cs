using System.Diagnostics;
using System.Numerics.Tensors;
using OlmoeSharp.Model;
using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Scoring;

/// <summary>
/// Scores text under a model: the log-probability of every token given the ones before it, with the most probable
/// alternatives (<see cref="Score(ReadOnlySpan{int}, int, CancellationToken)"/>), and perplexity over a long text
/// computed exactly as llama.cpp's <c>llama-perplexity</c> does, so the two can be compared on the same model
/// (<see cref="Perplexity(ReadOnlySpan{int}, int, int, IProgress{PerplexityProgress}, CancellationToken)"/>).
/// Thread-safe: each call runs in its own <see cref="InferenceSession"/>.
/// </summary>
/// <remarks>
/// Log-probabilities are natural logs of a max-subtracted log-softmax over the whole vocabulary. The model adds a
/// BOS token when its config has a <c>bos_token_id</c> (a GGUF file only when its <c>add_bos_token</c> says so; OLMoE
/// has none): text is then encoded with the BOS first, as llama.cpp's tokenizer does. One difference in encoding
/// text: special-token text in it (<c>&lt;|endoftext|&gt;</c>) becomes the special token, as in the reference
/// tokenizer's default encode, where llama-perplexity (parse_special off) encodes it as plain text; texts without
/// such strings are tokenized alike.
/// </remarks>
public sealed class Scorer
{
    /// <summary>The context <c>llama-perplexity</c> is usually run with, and <see cref="Perplexity(string, int, int, IProgress{PerplexityProgress}, CancellationToken)"/>'s default.</summary>
    public const int DefaultContext = 512;

    /// <summary>Alternatives per position that <see cref="Score(string, int, CancellationToken)"/> keeps by default.</summary>
    public const int DefaultTopK = 5;

    /// <summary>Creates a scorer over a loaded model (and its tokenizer, for the text overloads).</summary>
    public Scorer(OlmoeModel model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
    }

    /// <summary>The model.</summary>
    public OlmoeModel Model { get; }

    /// <summary>
    /// Sees the routing of every token the scoring calls evaluate, positions counted within the evaluated sequence
    /// or window; calls running at once share it. Null by default: no cost.
    /// </summary>
    public IRouterObserver? RouterObserver { get; init; }

    /// <summary>The BOS token the model puts first, or null (OLMoE: none).</summary>
    public int? BosToken => Model.Config.BosTokenId;

    /// <summary>
    /// Encodes <paramref name="text"/> as the scoring calls do: the model's tokenizer, with <see cref="BosToken"/>
    /// first when there is one.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no tokenizer.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = Model.Tokenizer
            ?? throw new InvalidOperationException($"{Model.Directory} has no tokenizer; pass token ids.");
        var ids = new List<int>(text.Length / 3 + 4);
        if (BosToken is int bos) ids.Add(bos);
        tokenizer.Encode(text, ids);
        return [.. ids];
    }

    /// <summary>Scores the tokens of <paramref name="text"/> (see <see cref="Encode"/>).</summary>
    /// <inheritdoc cref="Score(ReadOnlySpan{int}, int, CancellationToken)"/>
    public TokenScores Score(string text, int topK = DefaultTopK, CancellationToken cancellationToken = default) =>
        Score(Encode(text), topK, cancellationToken);

    /// <summary>
    /// The log-probability of every token after the first given all the tokens before it, its rank, and the
    /// <paramref name="topK"/> most probable tokens at each position. The whole sequence is one pass of the model
    /// (in blocks, exactly as <see cref="InferenceSession.Evaluate"/> runs it), so it must fit in the model's context.
    /// </summary>
    /// <param name="tokens">The sequence; at least 2 tokens, at most the model's context length.</param>
    /// <param name="topK">Alternatives to keep per position, 0 to the vocabulary size.</param>
    /// <param name="cancellationToken">Checked between blocks and layers.</param>
    /// <exception cref="ArgumentException">Fewer than 2 tokens, more than the context holds, an id outside the vocabulary, or <paramref name="topK"/> out of range.</exception>
    public TokenScores Score(ReadOnlySpan<int> tokens, int topK = DefaultTopK, CancellationToken cancellationToken = default)
    {
        var c = Model.Config;
        int n = tokens.Length, vocab = c.VocabSize;
        if (n < 2)
            throw new ArgumentException($"scoring needs at least 2 tokens (the first has no prediction); got {n}.", nameof(tokens));
        if (n > c.MaxPositionEmbeddings)
            throw new ArgumentException($"{n} tokens do not fit in the model's context of {c.MaxPositionEmbeddings}; use Perplexity for longer texts.", nameof(tokens));
        if (topK < 0 || topK > vocab)
            throw new ArgumentOutOfRangeException(nameof(topK), $"top-k must be in [0, {vocab}]; it is {topK}.");

        var ids = tokens.ToArray();
        var logProbabilities = new float[n - 1];
        var ranks = new int[n - 1];
        var alternatives = new TokenAlternative[(n - 1) * topK];
        var top = new int[topK];
        var scratch = new float[vocab];
        ulong[]? sortKeys = null;
        double total = 0;

        var session = CreateSession();
        var rows = new float[Math.Min(n, ForwardPass.MaxBlock) * vocab];
        // Block by block, as Evaluate splits a prompt, so the logits are those of one Evaluate over the sequence.
        for (int start = 0; start < n; start += ForwardPass.MaxBlock)
        {
            int count = Math.Min(ForwardPass.MaxBlock, n - start);
            session.Evaluate(ids.AsSpan(start, count), rows.AsSpan(0, count * vocab), cancellationToken);
            for (int r = 0; r < count && start + r < n - 1; r++)
            {
                int position = start + r; // its logits predict the token at position + 1
                var row = rows.AsSpan(r * vocab, vocab);
                var (max, logSum) = LogSoftmax.Normalizer(row, scratch);
                int target = ids[position + 1];
                double logProbability = LogSoftmax.Of(row[target], max, logSum);
                total += logProbability;
                logProbabilities[position] = (float)logProbability;
                ranks[position] = LogSoftmax.Rank(row, target);
                LogSoftmax.TopK(row, top, ref sortKeys);
                LogSoftmax.Alternatives(row, top, max, logSum, alternatives.AsSpan(position * topK, topK));
            }
        }
        return new TokenScores(ids, logProbabilities, ranks, alternatives, topK, total);
    }

    /// <summary>The perplexity of <paramref name="text"/> (see <see cref="Encode"/>).</summary>
    /// <inheritdoc cref="Perplexity(ReadOnlySpan{int}, int, int, IProgress{PerplexityProgress}, CancellationToken)"/>
    public PerplexityResult Perplexity(string text, int context = DefaultContext, int stride = 0,
        IProgress<PerplexityProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Perplexity(Encode(text), context, stride, progress, cancellationToken);

    /// <summary>
    /// Perplexity as llama.cpp's <c>llama-perplexity</c> computes it. With <paramref name="stride"/> 0 (its default):
    /// the tokens are cut into ⌊n / context⌋ non-overlapping windows of <paramref name="context"/> tokens, each run
    /// from an empty cache, and in each the tokens after position <c>first = context / 2</c> are scored
    /// (<c>context / 2 − 1</c> tokens a window: the logits of positions first … context − 2 predict positions
    /// first + 1 … context − 1), so every scored token has at least half a window of context. When the model adds a
    /// BOS token it replaces the first token of each window. With <paramref name="stride"/> &gt; 0 (its
    /// <c>--ppl-stride</c>): windows of <paramref name="context"/> tokens start every <paramref name="stride"/>
    /// tokens, ⌈(n − context) / stride⌉ of them, and each scores its last <paramref name="stride"/> tokens (its first
    /// token is not replaced, as llama.cpp sets the BOS only after evaluating the window in this mode). In that mode
    /// llama.cpp's window is the context it allocates, not its -c: -c × max(1, n_batch / -c) + stride / 2 (before
    /// any padding); pass that as <paramref name="context"/> to compare.
    /// The result is exp of the mean negative log-likelihood over all scored tokens.
    /// </summary>
    /// <param name="tokens">The tokenized text; llama.cpp requires at least 2 × <paramref name="context"/> tokens, and so does this.</param>
    /// <param name="context">Tokens per window: even and at least 4 (with stride 0), at least 2 (with a stride), and within the model's context.</param>
    /// <param name="stride">0, or 1 to <paramref name="context"/> − 1.</param>
    /// <param name="progress">Receives the running estimate after each window, on the calling thread.</param>
    /// <param name="cancellationToken">Checked between blocks and layers.</param>
    /// <exception cref="ArgumentException">Too few tokens, a context or stride out of range, or an id outside the vocabulary.</exception>
    public PerplexityResult Perplexity(ReadOnlySpan<int> tokens, int context = DefaultContext, int stride = 0,
        IProgress<PerplexityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var c = Model.Config;
        int n = tokens.Length, vocab = c.VocabSize;
        ValidateWindows(n, context, stride, c.MaxPositionEmbeddings);

        // Window w covers tokens [start, start + context); its rows from `first` to `first + scored − 1` are scored,
        // row r predicting the window's token r + 1.
        int windows, step, first, scored;
        if (stride == 0)
        {
            windows = n / context;
            step = context;
            first = context / 2;
            scored = context - first - 1;
        }
        else
        {
            windows = (n - context + stride - 1) / stride;
            step = stride;
            first = context - stride - 1;
            scored = stride;
        }
        int? bos = stride == 0 ? BosToken : null;

        var window = new int[context];
        var rows = new float[Math.Min(context, ForwardPass.MaxBlock) * vocab];
        var scratch = new float[vocab];
        var running = new double[windows];
        var session = CreateSession();
        var clock = Stopwatch.StartNew();
        double nll = 0, nll2 = 0;
        int count = 0;
        for (int w = 0; w < windows; w++)
        {
            tokens.Slice(w * step, context).CopyTo(window);
            if (bos is int b) window[0] = b;
            session.Reset();
            for (int start = 0; start < context; start += ForwardPass.MaxBlock)
            {
                int blockCount = Math.Min(ForwardPass.MaxBlock, context - start);
                // Blocks wholly before the scored rows need no logits; the blocks are Evaluate's own, so the rows
                // that are computed equal those of one Evaluate over the whole window.
                bool needed = start + blockCount > first && start < first + scored;
                var blockRows = needed ? rows.AsSpan(0, blockCount * vocab) : Span<float>.Empty;
                session.Evaluate(window.AsSpan(start, blockCount), blockRows, cancellationToken);
                if (!needed) continue;
                int from = Math.Max(first, start), to = Math.Min(first + scored, start + blockCount);
                for (int r = from; r < to; r++)
                {
                    var row = rows.AsSpan((r - start) * vocab, vocab);
                    var (max, logSum) = LogSoftmax.Normalizer(row, scratch);
                    double v = -LogSoftmax.Of(row[window[r + 1]], max, logSum);
                    nll += v;
                    nll2 += v * v;
                }
            }
            count += scored;
            running[w] = Math.Exp(nll / count);
            progress?.Report(new PerplexityProgress(w + 1, windows, count, running[w], clock.Elapsed));
        }

        double mean = nll / count;
        double ppl = Math.Exp(mean);
        double variance = nll2 / count - mean * mean;
        double uncertainty = variance > 0 && count > 1 ? Math.Sqrt(variance / (count - 1)) * ppl : 0;
        return new PerplexityResult(ppl, uncertainty, mean, count, windows, context, stride, n, running);
    }

    /// <summary>
    /// Writes the log-softmax of <paramref name="logits"/> into <paramref name="destination"/> (same length; may be
    /// the same span): log p_i = (x_i − max) − log Σ exp(x_j − max), stable for any finite logits.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static void LogSoftmaxInto(ReadOnlySpan<float> logits, Span<float> destination)
    {
        if (logits.IsEmpty) throw new ArgumentException("no logits.", nameof(logits));
        if (destination.Length != logits.Length) throw new ArgumentException($"destination holds {destination.Length} values for {logits.Length} logits.", nameof(destination));
        // Scalar exponentials, so that destination may alias logits and nothing is allocated.
        float max = TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (float x in logits) sum += MathF.Exp(x - max);
        double logSum = Math.Log(sum);
        for (int i = 0; i < logits.Length; i++) destination[i] = (float)LogSoftmax.Of(logits[i], max, logSum);
    }

    private static void ValidateWindows(int n, int context, int stride, int modelContext)
    {
        if (stride < 0 || (stride > 0 && stride >= context))
            throw new ArgumentOutOfRangeException(nameof(stride), $"the stride must be 0 (non-overlapping windows) or 1 to context − 1 = {context - 1}; it is {stride}.");
        if (stride == 0 && (context < 4 || context % 2 != 0))
            throw new ArgumentOutOfRangeException(nameof(context), $"the context must be even and at least 4 (its second half, after the first token of it, is scored); it is {context}.");
        if (context < 2)
            throw new ArgumentOutOfRangeException(nameof(context), $"the context must be at least 2; it is {context}.");
        if (context > modelContext)
            throw new ArgumentOutOfRangeException(nameof(context), $"a context of {context} exceeds the model's {modelContext} positions.");
        if (n < 2L * context)
            throw new ArgumentException($"perplexity with a context of {context} needs at least {2L * context} tokens (as llama-perplexity requires); the input has {n}.", "tokens");
    }

    private InferenceSession CreateSession()
    {
        var session = Model.CreateSession();
        session.RouterObserver = RouterObserver;
        return session;
    }
}
