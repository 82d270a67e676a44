using OlmoeSharp.Generation;
using OlmoeSharp.Tests.Scoring;

namespace OlmoeSharp.Tests.Generation;

/// <summary>
/// <see cref="GenerationOptions.LogProbs"/> against its definition: each generated token's reported log-probability,
/// and its alternatives', are the log-softmax (recomputed here in double) of the logits one
/// <see cref="InferenceSession.Evaluate"/> over the whole sequence gives at the step before it. Tolerance 1e-4: the
/// generation evaluated the tokens one at a time, the reference in one pass (the same sums in another order).
/// </summary>
public sealed class GenerationLogProbabilityTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData(0f, 5)]
    [InlineData(1f, 20)]
    [InlineData(1f, 0)]
    public async Task Reported_log_probabilities_are_the_log_softmax_of_the_logits(float temperature, int topLogProbs)
    {
        var model = fixture.Model;
        var prompt = model.Tokenizer!.Encode("The history of the river begins");
        var options = new GenerationOptions
        {
            Temperature = temperature, Seed = 3, MaxNewTokens = 12, IgnoreEndOfText = true, LogProbs = true, TopLogProbs = topLogProbs,
        };
        var steps = new List<(int Token, TokenLogProbabilities LogProbabilities)>();
        await foreach (var update in new TextGenerator(model).GenerateAsync(prompt, options))
            if (update.TokenId is int id) steps.Add((id, update.LogProbabilities!));
            else Assert.Null(update.LogProbabilities);
        Assert.Equal(options.MaxNewTokens, steps.Count);

        int[] sequence = [.. prompt, .. steps.Select(s => s.Token)];
        int vocab = model.Config.VocabSize;
        var logits = new float[sequence.Length * vocab];
        model.CreateSession().Evaluate(sequence, logits);
        for (int i = 0; i < steps.Count; i++)
        {
            var (token, reported) = steps[i];
            var reference = ScorerTests.ReferenceLogSoftmax(logits.AsSpan((prompt.Count + i - 1) * vocab, vocab));
            Assert.Equal(reference[token], reported.LogProbability, Tolerance);

            Assert.Equal(topLogProbs, reported.Alternatives.Count);
            double probabilityMass = 0;
            for (int j = 0; j < reported.Alternatives.Count; j++)
            {
                var alternative = reported.Alternatives[j];
                Assert.Equal(reference[alternative.Token], alternative.LogProbability, Tolerance);
                if (j > 0) Assert.True(alternative.LogProbability <= reported.Alternatives[j - 1].LogProbability, $"step {i}: alternatives not sorted at {j}");
                probabilityMass += Math.Exp(alternative.LogProbability);
            }
            Assert.True(probabilityMass <= 1 + 1e-6, $"step {i}: the alternatives hold probability {probabilityMass}");
            if (topLogProbs > 0)
            {
                // The most probable token per the reference leads the alternatives, and greedy decoding chose it.
                Assert.Equal(reference.Max(), reported.Alternatives[0].LogProbability, Tolerance);
                if (temperature == 0) Assert.Equal(token, reported.Alternatives[0].Token);
            }
        }
    }

    [Fact]
    public async Task Without_the_option_no_log_probabilities_are_reported()
    {
        await foreach (var update in new TextGenerator(fixture.Model).GenerateAsync("Hello", new GenerationOptions { MaxNewTokens = 4, Seed = 1 }))
            Assert.Null(update.LogProbabilities);
    }

    [Theory]
    [InlineData(true, -1, "TopLogProbs")]
    [InlineData(true, 21, "TopLogProbs")]
    [InlineData(false, 3, "TopLogProbs")]
    public void Bad_log_probability_options_are_refused_naming_the_field(bool logProbs, int top, string field)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new GenerationOptions { LogProbs = logProbs, TopLogProbs = top }.Validate());
        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void Token_bytes_are_what_decoding_the_token_gives()
    {
        var tokenizer = fixture.Model.Tokenizer!;
        foreach (int id in tokenizer.Encode("naïve café — ünïcödé 漢字 text"))
        {
            var bytes = tokenizer.GetTokenBytes(id).ToArray();
            Assert.NotEmpty(bytes);
            Assert.Equal(tokenizer.Decode([id]), System.Text.Encoding.UTF8.GetString(bytes));
        }
        Assert.True(tokenizer.GetTokenBytes(-1).IsEmpty);
    }
}
