using OlmoeSharp.Cli;
using OlmoeSharp.Generation;
using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Tests.Cli;

/// <summary>
/// <c>bench --concurrency</c>'s count of the experts each batched decode step reads: distinct experts per layer,
/// pure decode steps only, grouped by the tokens in the step; and the bandwidth ceiling that count implies.
/// </summary>
public sealed class ExpertsPerStepTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private const int Prompt = 4;

    [Fact]
    public void Counts_distinct_experts_per_layer_of_whole_decode_steps()
    {
        long step = 0;
        var counter = new ExpertsPerStep(layers: 2, experts: 70, Prompt, () => step);
        // Step 0: two decoded tokens; layer 0 reads {1, 2, 69}, layer 1 reads {5, 6}: 2.5 experts per layer.
        Route(counter, layer: 0, position: 4, 1, 2);
        Route(counter, layer: 0, position: 9, 2, 69);
        Route(counter, layer: 1, position: 4, 5, 6);
        Route(counter, layer: 1, position: 9, 6, 5);
        // Step 1 carries a prompt token beside a decoded one: a prefill step, not counted.
        step = 1;
        Route(counter, layer: 0, position: 3, 1, 2);
        Route(counter, layer: 0, position: 7, 3, 4);
        Route(counter, layer: 1, position: 3, 1, 2);
        Route(counter, layer: 1, position: 7, 3, 4);
        // Step 2: one decoded token; step 3: one token, cut short in layer 0 (never whole, not counted).
        step = 2;
        Route(counter, layer: 0, position: 5, 0, 7);
        Route(counter, layer: 1, position: 5, 3, 1);
        step = 3;
        Route(counter, layer: 0, position: 6, 0, 7);

        Assert.Equal(2.5, counter.MeanExperts(2));
        Assert.Equal(2.0, counter.MeanExperts(1));
        Assert.Null(counter.MeanExperts(3));
    }

    [Fact]
    public void Ceiling_is_one_for_one_stream_and_the_streams_when_all_share_their_experts()
    {
        const long perExpert = 100, shared = 5_000;
        const int layers = 3, k = 2;
        long perToken = shared + layers * k * perExpert;
        Assert.Equal(1.0, ExpertsPerStep.Ceiling(1, k, perToken, perExpert, layers, k), 12);
        Assert.Equal(8.0, ExpertsPerStep.Ceiling(8, k, perToken, perExpert, layers, k), 12);
        // Eight streams with no expert in common read the experts eight times, the shared weights once.
        double disjoint = 8.0 * perToken / (shared + layers * 8 * k * perExpert);
        Assert.Equal(disjoint, ExpertsPerStep.Ceiling(8, 8 * k, perToken, perExpert, layers, k), 12);
    }

    [Fact]
    public async Task Sees_the_steps_of_real_generations()
    {
        var config = tiny.Model.Config;
        var counter = new ExpertsPerStep(config.NumHiddenLayers, config.NumExperts, Prompt, () => tiny.Model.BatchingStatus.Steps);
        var generator = new TextGenerator(tiny.Model) { MaxIdleSessions = 0, RouterObserver = counter };
        var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 12, IgnoreEndOfText = true };

        await Drain(generator.GenerateAsync([3, 1, 4, 1], options));
        // One sequence alone: every decode step reads exactly its token's top-k.
        Assert.Equal(config.NumExpertsPerToken, counter.MeanExperts(1));

        await Task.WhenAll(Enumerable.Range(0, 4).Select(s => Drain(generator.GenerateAsync([10 + s, 20 + s, 30 + s, 40 + s], options))));
        int[] seen = Enumerable.Range(2, 3).Where(b => counter.MeanExperts(b) is not null).ToArray();
        Assert.NotEmpty(seen); // four sequences decoding together share steps
        foreach (int b in seen)
        {
            double mean = counter.MeanExperts(b)!.Value;
            Assert.InRange(mean, config.NumExpertsPerToken, Math.Min(b * config.NumExpertsPerToken, config.NumExperts));
        }
    }

    private static void Route(ExpertsPerStep counter, int layer, int position, params int[] experts) =>
        counter.OnRouted(new RouterDecision(layer, position, token: 0, experts, new float[experts.Length], new float[70]));

    private static async Task Drain(IAsyncEnumerable<GenerationUpdate> updates)
    {
        await foreach (var _ in updates) { }
    }
}
