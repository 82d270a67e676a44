using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Constraints;

/// <summary>The sampler never picks a token whose logit is −∞ (masked), under any sampling setting.</summary>
public sealed class MaskedSamplingTests
{
    public static TheoryData<GenerationOptions> Settings =>
    [
        new GenerationOptions { Temperature = 0 },
        new GenerationOptions { Temperature = 1 },
        new GenerationOptions { Temperature = 3, TopK = 5 },
        new GenerationOptions { Temperature = 0.7f, TopP = 0.5f },
        new GenerationOptions { Temperature = 1, MinP = 0.2f },
        new GenerationOptions { Temperature = 1.5f, RepetitionPenalty = 1.3f, TopK = 40, TopP = 0.95f },
        new GenerationOptions { Temperature = 0, RepetitionPenalty = 0.5f },
    ];

    [Theory]
    [MemberData(nameof(Settings))]
    public void Masked_tokens_are_never_chosen(GenerationOptions settings)
    {
        const int vocabulary = 1000;
        var random = new Random(5);
        var logits = new float[vocabulary];
        for (int i = 0; i < vocabulary; i++) logits[i] = random.NextSingle() * 10;
        // The most likely tokens are masked; a few unlikely ones stay.
        int[] allowed = [.. Enumerable.Range(0, vocabulary).OrderBy(i => logits[i]).Take(7)];
        var masked = logits.Select(_ => float.NegativeInfinity).ToArray();
        foreach (int id in allowed) masked[id] = logits[id];
        int[] history = [.. Enumerable.Range(0, vocabulary).OrderByDescending(i => logits[i]).Take(20), allowed[0]];

        var sampler = new Sampler(settings with { Seed = 3 }, vocabulary);
        var seen = new HashSet<int>();
        for (int draw = 0; draw < 300; draw++) seen.Add(sampler.Sample(masked, history));
        Assert.Subset(allowed.ToHashSet(), seen);
        if (settings.Temperature == 0)
        {
            // Greedy takes the best allowed token after the penalty.
            float Penalised(int id) => history.Contains(id) ? (logits[id] > 0 ? logits[id] / settings.RepetitionPenalty : logits[id] * settings.RepetitionPenalty) : logits[id];
            Assert.Equal(allowed.MaxBy(Penalised), Assert.Single(seen));
        }
    }

    [Fact]
    public void Everything_masked_or_nan_is_refused()
    {
        var sampler = new Sampler(new GenerationOptions { Seed = 1 }, 4);
        Assert.Throws<InvalidOperationException>(() => sampler.Sample([float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity], []));
        Assert.Throws<InvalidOperationException>(() => sampler.Sample([0, float.NaN, float.NegativeInfinity, 1], []));
        Assert.Throws<InvalidOperationException>(() => sampler.Sample([0, float.PositiveInfinity, 1, 1], []));
    }
}
