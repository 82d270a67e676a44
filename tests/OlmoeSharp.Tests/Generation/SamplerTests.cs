using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Generation;

/// <summary>
/// The sampler on known distributions. Frequencies over 40,000 seeded draws must be within 0.012 of the exact
/// probabilities (more than 5 standard deviations for p(1 − p) ≤ 0.25), so a wrong filter or temperature fails.
/// </summary>
public sealed class SamplerTests
{
    private const int Draws = 40_000;
    private const double Tolerance = 0.012;
    private static readonly float[] Probabilities = [0.5f, 0.3f, 0.15f, 0.05f];
    private static readonly float[] Logits = Probabilities.Select(p => MathF.Log(p) + 3f).ToArray();

    private static double[] Frequencies(GenerationOptions options, float[] logits, int sampleable = 4)
    {
        var sampler = new Sampler(options with { Seed = 42 }, sampleable);
        var counts = new double[logits.Length];
        for (int i = 0; i < Draws; i++) counts[sampler.Sample(logits, [])]++;
        return counts.Select(c => c / Draws).ToArray();
    }

    private static void AssertDistribution(double[] expected, double[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"token {i}: expected {expected[i]:F4}, sampled {actual[i]:F4}");
    }

    [Fact]
    public void Temperature_one_reproduces_the_softmax()
        => AssertDistribution([0.5, 0.3, 0.15, 0.05], Frequencies(new GenerationOptions { Temperature = 1 }, Logits));

    [Fact]
    public void Temperature_two_flattens_the_distribution()
    {
        var flattened = Probabilities.Select(p => Math.Sqrt(p)).ToArray();
        double sum = flattened.Sum();
        AssertDistribution(flattened.Select(p => p / sum).ToArray(), Frequencies(new GenerationOptions { Temperature = 2 }, Logits));
    }

    [Fact]
    public void Top_k_keeps_the_k_most_likely_renormalised()
        => AssertDistribution([0.625, 0.375, 0, 0], Frequencies(new GenerationOptions { Temperature = 1, TopK = 2 }, Logits));

    [Fact]
    public void Top_p_keeps_the_smallest_nucleus_reaching_p()
        => AssertDistribution([0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0], Frequencies(new GenerationOptions { Temperature = 1, TopP = 0.9f }, Logits));

    [Fact]
    public void Min_p_drops_tokens_below_a_fraction_of_the_best()
        => AssertDistribution([0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0], Frequencies(new GenerationOptions { Temperature = 1, MinP = 0.2f }, Logits));

    [Fact]
    public void Greedy_takes_the_argmax_and_never_draws()
    {
        var sampler = new Sampler(new GenerationOptions { Temperature = 0 }, 4);
        for (int i = 0; i < 100; i++) Assert.Equal(0, sampler.Sample(Logits, []));
    }

    [Fact]
    public void Padding_tokens_past_the_sampleable_range_are_never_chosen()
    {
        float[] logits = [0f, 0f, 0f, 50f];
        AssertDistribution([1 / 3.0, 1 / 3.0, 1 / 3.0, 0], Frequencies(new GenerationOptions { Temperature = 1 }, logits, sampleable: 3));
        Assert.NotEqual(3, new Sampler(new GenerationOptions { Temperature = 0 }, 3).Sample(logits, []));
    }

    [Fact]
    public void Same_seed_gives_the_same_tokens_and_another_seed_does_not()
    {
        int[] Run(ulong seed)
        {
            var sampler = new Sampler(new GenerationOptions { Temperature = 1, Seed = seed }, 4);
            return Enumerable.Range(0, 64).Select(_ => sampler.Sample(Logits, [])).ToArray();
        }
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens()
    {
        // Token 0 leads by ln(2); a penalty of 4 on it (seen before) makes token 1 the greedy choice.
        float[] logits = [1f + MathF.Log(2), 1f, -5f, -6f];
        var sampler = new Sampler(new GenerationOptions { Temperature = 0, RepetitionPenalty = 4 }, 4);
        Assert.Equal(1, sampler.Sample(logits, [0]));
        Assert.Equal(0, sampler.Sample(logits, [2]));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Non_finite_logits_are_refused(float bad)
    {
        var sampler = new Sampler(new GenerationOptions { Temperature = 1 }, 4);
        var error = Assert.Throws<InvalidOperationException>(() => sampler.Sample([0f, bad, 0f, 0f], []));
        Assert.Contains("non-finite", error.Message);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_the_option_named()
    {
        Assert.Equal("Temperature", Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new GenerationOptions { Temperature = -1 }, 4)).ParamName);
        Assert.Equal("TopP", Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new GenerationOptions { TopP = 0 }, 4)).ParamName);
        Assert.Equal("TopK", Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new GenerationOptions { TopK = -3 }, 4)).ParamName);
        Assert.Equal("MinP", Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new GenerationOptions { MinP = 2 }, 4)).ParamName);
        Assert.Equal("RepetitionPenalty", Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new GenerationOptions { RepetitionPenalty = 0 }, 4)).ParamName);
        Assert.Equal("MaxNewTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new GenerationOptions { MaxNewTokens = -1 }, 4)).ParamName);
    }
}
