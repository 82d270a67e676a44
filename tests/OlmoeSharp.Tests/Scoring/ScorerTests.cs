using OlmoeSharp.Scoring;

namespace OlmoeSharp.Tests.Scoring;

/// <summary>
/// <see cref="Scorer"/> against its definition: log-probabilities are the log-softmax (recomputed here in double
/// precision) of the logits <see cref="InferenceSession.Evaluate"/> returns, they normalise over the vocabulary, and
/// perplexity is exp(mean NLL) over llama-perplexity's windows, recomputed window by window from Evaluate's logits.
/// Models: the golden tiny bf16 checkpoint (no tokenizer, 256 positions) and <see cref="TinyModelFixture"/> (random
/// weights, the real tokenizer, 512 positions: long enough to cross Evaluate's 256-token blocks).
/// Tolerances: 1e-5 per log-probability (float32 exponentials summed in double against a double recomputation),
/// 1e-9 relative on perplexity and the mean NLL (double accumulation on both sides).
/// </summary>
public sealed class ScorerTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private static string GoldenBf16 => SharedData.Path("golden", "tiny", "bf16");

    /// <summary>1e-5, plus the float32 rounding of large log-probabilities.</summary>
    private static double Tolerance(double logProbability) => 1e-5 + 1e-6 * Math.Abs(logProbability);

    private static int[] RandomTokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(vocab)).ToArray();
    }

    /// <summary>log-softmax of one row in double: (x − max) − log Σ exp(x − max).</summary>
    internal static double[] ReferenceLogSoftmax(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (float x in row) max = Math.Max(max, x);
        double sum = 0;
        foreach (float x in row) sum += Math.Exp(x - max);
        double logSum = Math.Log(sum);
        var result = new double[row.Length];
        for (int i = 0; i < row.Length; i++) result[i] = row[i] - max - logSum;
        return result;
    }

    private static float[] AllLogits(OlmoeModel model, ReadOnlySpan<int> tokens)
    {
        var logits = new float[tokens.Length * model.Config.VocabSize];
        model.CreateSession().Evaluate(tokens, logits);
        return logits;
    }

    [Fact]
    public void Log_softmax_is_stable_and_normalised()
    {
        // TensorPrimitives.SoftMax returns NaN here; the max-subtracted form does not.
        float[] large = [1000f, 1000f, 999f];
        var result = new float[3];
        Scorer.LogSoftmaxInto(large, result);
        double expected = -Math.Log(2 + Math.Exp(-1));
        Assert.Equal(expected, result[0], 1e-6);
        Assert.Equal(expected, result[1], 1e-6);
        Assert.Equal(expected - 1, result[2], 1e-6);

        float[] spread = [-3e4f, 0f, 50f, -1e30f, 88f, 89f];
        Scorer.LogSoftmaxInto(spread, result = new float[spread.Length]);
        Assert.All(result, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1.0, result.Sum(v => Math.Exp(v)), 1e-6);

        // In place, on a row of random logits.
        var row = RandomTokens(1000, 4000, 3).Select(x => (x - 2000) / 100f).ToArray();
        var want = ReferenceLogSoftmax(row);
        Scorer.LogSoftmaxInto(row, row);
        for (int i = 0; i < row.Length; i++) Assert.Equal(want[i], row[i], 1e-5);
    }

    [Fact]
    public void Exp_of_the_log_probabilities_sums_to_one_at_every_position()
    {
        using var model = OlmoeModel.Load(GoldenBf16);
        int vocab = model.Config.VocabSize;
        int[] tokens = [43298, 50279, 1, 0, 5836, 26173, 50303];
        var scores = new Scorer(model).Score(tokens, topK: vocab);

        Assert.Equal(tokens.Length - 1, scores.Count);
        foreach (var s in scores)
        {
            var all = s.Alternatives.Span;
            Assert.Equal(vocab, all.Length);
            double sum = 0;
            foreach (var a in all) sum += Math.Exp(a.LogProbability);
            Assert.True(Math.Abs(sum - 1) < 1e-4, $"position {s.Position}: Σ exp = {sum}");
            // Every token once, most probable first, and the scored token where its rank says.
            Assert.Equal(vocab, all.ToArray().Select(a => a.Token).Distinct().Count());
            for (int i = 1; i < all.Length; i++) Assert.True(all[i - 1].LogProbability >= all[i].LogProbability);
            Assert.Equal(s.Token, all[s.Rank].Token);
            Assert.Equal(s.LogProbability, all[s.Rank].LogProbability);
        }
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(40, 5)]
    [InlineData(300, 3)]   // crosses Evaluate's 256-token block
    [InlineData(257, 0)]   // a last block of one token
    public void Scores_are_the_log_softmax_of_the_logits_of_Evaluate(int length, int topK)
    {
        var model = tiny.Model;
        int vocab = model.Config.VocabSize;
        var tokens = RandomTokens(length, vocab, length);
        var logits = AllLogits(model, tokens);

        var scores = new Scorer(model).Score(tokens, topK);
        Assert.Equal(tokens, scores.Tokens.ToArray());
        Assert.Equal(length - 1, scores.Count);
        double total = 0;
        for (int p = 0; p < length - 1; p++)
        {
            var row = logits.AsSpan(p * vocab, vocab);
            var want = ReferenceLogSoftmax(row);
            var s = scores[p];
            Assert.Equal(p + 1, s.Position);
            Assert.Equal(tokens[p + 1], s.Token);
            Assert.True(Math.Abs(want[tokens[p + 1]] - s.LogProbability) <= Tolerance(want[tokens[p + 1]]), $"position {p + 1}: {s.LogProbability} vs {want[tokens[p + 1]]}");
            total += want[tokens[p + 1]];
            float target = row[tokens[p + 1]];
            int rank = 0;
            for (int i = 0; i < vocab; i++) if (row[i] > target || (row[i] == target && i < tokens[p + 1])) rank++;
            Assert.Equal(rank, s.Rank);
            var rowCopy = row.ToArray();
            var order = Enumerable.Range(0, vocab).OrderByDescending(i => rowCopy[i]).ThenBy(i => i).Take(topK).ToArray();
            Assert.Equal(topK, s.Alternatives.Length);
            for (int j = 0; j < topK; j++)
            {
                Assert.Equal(order[j], s.Alternatives.Span[j].Token);
                Assert.True(Math.Abs(want[order[j]] - s.Alternatives.Span[j].LogProbability) <= Tolerance(want[order[j]]));
            }
        }
        Assert.Equal(total, scores.TotalLogProbability, 1e-4);
        Assert.Equal(Math.Exp(-total / (length - 1)), scores.Perplexity, 1e-4 * scores.Perplexity);
    }

    [Fact]
    public void Scoring_text_encodes_it_with_the_model_tokenizer()
    {
        const string text = "The quick brown fox jumps over the lazy dog.\nPerplexity, as llama.cpp computes it.";
        var scorer = new Scorer(tiny.Model);
        var ids = tiny.Model.Tokenizer!.Encode(text).ToArray();
        Assert.Equal(ids, scorer.Encode(text));
        var byText = scorer.Score(text);
        var byIds = scorer.Score(ids);
        Assert.Equal(byIds.LogProbabilities.ToArray(), byText.LogProbabilities.ToArray());
        Assert.Equal(Scorer.DefaultTopK, byText.TopK);
    }

    /// <summary>
    /// llama-perplexity's rule, recomputed: windows [w·ctx, (w+1)·ctx), each from an empty cache, rows
    /// ctx/2 … ctx − 2 predicting the next token; perplexity exp(Σ NLL / count) after each window.
    /// </summary>
    [Theory]
    [InlineData(64, 300)]   // 4 windows, 44 tokens left over
    [InlineData(4, 9)]      // smallest context: one token scored per window
    [InlineData(300, 600)]  // the scored half straddles Evaluate's 256-token blocks
    public void Perplexity_is_exp_of_the_mean_nll_of_each_window_second_half(int context, int length)
    {
        var model = tiny.Model;
        int vocab = model.Config.VocabSize;
        var tokens = RandomTokens(length, vocab, context + length);
        var reported = new List<PerplexityProgress>();
        var result = new Scorer(model).Perplexity(tokens, context, progress: new SyncProgress<PerplexityProgress>(reported.Add));

        int windows = length / context, first = context / 2;
        double nll = 0;
        int count = 0;
        var running = new List<double>();
        for (int w = 0; w < windows; w++)
        {
            var window = tokens.AsSpan(w * context, context);
            var logits = AllLogits(model, window);
            for (int r = first; r <= context - 2; r++)
            {
                nll -= ReferenceLogSoftmax(logits.AsSpan(r * vocab, vocab))[window[r + 1]];
                count++;
            }
            running.Add(Math.Exp(nll / count));
        }

        Assert.Equal(windows, result.Windows);
        Assert.Equal(windows * (context / 2 - 1), result.TokensScored);
        Assert.Equal(count, result.TokensScored);
        Assert.Equal(context, result.Context);
        Assert.Equal(length, result.TotalTokens);
        Assert.Equal(nll / count, result.MeanNegativeLogLikelihood, 1e-6);
        Assert.Equal(Math.Exp(nll / count), result.Perplexity, 1e-6 * result.Perplexity);
        Assert.Equal(windows, result.RunningEstimates.Count);
        for (int w = 0; w < windows; w++) Assert.Equal(running[w], result.RunningEstimates[w], 1e-6 * running[w]);
        Assert.Equal(Enumerable.Range(1, windows), reported.Select(p => p.Window));
        Assert.All(reported, p => Assert.Equal(windows, p.Windows));
        Assert.Equal(result.RunningEstimates, reported.Select(p => p.Perplexity));
        Assert.True(result.Uncertainty > 0);
    }

    /// <summary>llama-perplexity --ppl-stride: windows every stride tokens, each scoring its last stride tokens.</summary>
    [Fact]
    public void Strided_perplexity_scores_the_last_stride_tokens_of_each_window()
    {
        var model = tiny.Model;
        int vocab = model.Config.VocabSize;
        const int context = 32, stride = 8, length = 100;
        var tokens = RandomTokens(length, vocab, 77);
        var result = new Scorer(model).Perplexity(tokens, context, stride);

        int windows = (length - context + stride - 1) / stride;
        double nll = 0;
        for (int w = 0; w < windows; w++)
        {
            var window = tokens.AsSpan(w * stride, context);
            var logits = AllLogits(model, window);
            for (int r = context - stride - 1; r <= context - 2; r++)
                nll -= ReferenceLogSoftmax(logits.AsSpan(r * vocab, vocab))[window[r + 1]];
        }
        Assert.Equal(9, windows);
        Assert.Equal(windows, result.Windows);
        Assert.Equal(windows * stride, result.TokensScored);
        Assert.Equal(stride, result.Stride);
        Assert.Equal(Math.Exp(nll / (windows * stride)), result.Perplexity, 1e-6 * result.Perplexity);
    }

    /// <summary>A model that adds BOS: text is encoded with it first, and each window's first token becomes BOS.</summary>
    [Fact]
    public void With_a_bos_token_each_window_starts_with_it()
    {
        using var dir = new TempDirectory();
        const int bos = 7;
        RandomCheckpoint.Write(dir.Path, RandomCheckpoint.Tiny with { BosTokenId = bos }, new RandomCheckpointOptions { Seed = 5 });
        File.Copy(SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json"), dir.File("tokenizer.json"));
        using var model = OlmoeModel.Load(dir.Path);
        int vocab = model.Config.VocabSize;
        var scorer = new Scorer(model);
        Assert.Equal(bos, scorer.BosToken);
        Assert.Equal(new[] { bos }.Concat(model.Tokenizer!.Encode("hello world")).ToArray(), scorer.Encode("hello world"));

        const int context = 16;
        var tokens = RandomTokens(40, vocab, 8);
        var result = scorer.Perplexity(tokens, context);
        double nll = 0;
        for (int w = 0; w < 2; w++)
        {
            var window = tokens.AsSpan(w * context, context).ToArray();
            window[0] = bos;
            var logits = AllLogits(model, window);
            for (int r = context / 2; r <= context - 2; r++)
                nll -= ReferenceLogSoftmax(logits.AsSpan(r * vocab, vocab))[window[r + 1]];
        }
        Assert.Equal(2, result.Windows);
        Assert.Equal(Math.Exp(nll / result.TokensScored), result.Perplexity, 1e-6 * result.Perplexity);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_a_clear_message()
    {
        var model = tiny.Model;
        var scorer = new Scorer(model);
        var tokens = RandomTokens(100, model.Config.VocabSize, 1);

        Assert.Contains("at least 2 tokens", Assert.Throws<ArgumentException>(() => scorer.Score([5])).Message);
        Assert.Contains("at least 2 tokens", Assert.Throws<ArgumentException>(() => scorer.Score("")).Message);
        Assert.Contains("context of 512", Assert.Throws<ArgumentException>(() => scorer.Score(RandomTokens(513, 1000, 2))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Score(tokens, topK: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Score(tokens, topK: model.Config.VocabSize + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Score([5, model.Config.VocabSize]));

        // Shorter than two windows (llama-perplexity's minimum): a text shorter than one window too.
        Assert.Contains("needs at least 200 tokens", Assert.Throws<ArgumentException>(() => scorer.Perplexity(tokens, 100)).Message);
        Assert.Contains("needs at least 1024 tokens", Assert.Throws<ArgumentException>(() => scorer.Perplexity("A short text.")).Message);
        Assert.Contains("even", Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Perplexity(tokens, 15)).Message);
        Assert.Contains("at least 4", Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Perplexity(tokens, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Perplexity(tokens, 0));
        Assert.Contains("exceeds the model's 512", Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Perplexity(RandomTokens(2000, 1000, 3), 1024)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Perplexity(tokens, 16, stride: 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => scorer.Perplexity(tokens, 16, stride: -1));

        using var golden = OlmoeModel.Load(GoldenBf16);
        Assert.Contains("no tokenizer", Assert.Throws<InvalidOperationException>(() => new Scorer(golden).Score("text")).Message);
    }

    [Fact]
    public void Cancellation_is_honoured()
    {
        var scorer = new Scorer(tiny.Model);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var tokens = RandomTokens(64, 1000, 4);
        Assert.ThrowsAny<OperationCanceledException>(() => scorer.Score(tokens, cancellationToken: cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => scorer.Perplexity(tokens, 16, cancellationToken: cts.Token));
    }

    /// <summary>The top-k selection (one-pass insertion for small k, a keyed sort for large k) against a full sort.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(500)]
    public void Top_k_matches_a_full_sort_with_ties_to_the_lower_index(int k)
    {
        var random = new Random(k);
        // Coarse values so that ties are frequent; negative zeros among the zeros.
        var row = Enumerable.Range(0, 500).Select(_ => (float)random.Next(-20, 20) / 4).Select(v => v == 0 && random.Next(2) == 0 ? -0f : v).ToArray();
        var want = Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).ThenBy(i => i).Take(k).ToArray();
        var got = new int[k];
        ulong[]? keys = null;
        LogSoftmax.TopK(row, got, ref keys);
        Assert.Equal(want, got);
        Assert.Equal(k > 64, keys is not null);
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
