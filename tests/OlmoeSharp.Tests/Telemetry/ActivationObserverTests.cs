using OlmoeSharp.Generation;
using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Tests.Telemetry;

/// <summary>
/// Named intermediates: every layer's activations in the order of the computation, related to each other as the
/// model's equations say (bit for bit where the engine adds two of them), the same values whatever runs beside, and
/// no change to the logits or allocation when observed.
/// </summary>
public sealed class ActivationObserverTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private static readonly ActivationName[] LayerOrder =
    [
        ActivationName.AttentionNorm, ActivationName.Query, ActivationName.Key, ActivationName.Value, ActivationName.AttentionHeads,
        ActivationName.AttentionOutput, ActivationName.FfnInput, ActivationName.FfnNorm, ActivationName.RouterProbabilities,
        ActivationName.MoeOutput, ActivationName.LayerOutput,
    ];

    /// <summary>Keeps a copy of every activation, keyed by name, layer and position of each row.</summary>
    private sealed class Recorder : IActivationObserver
    {
        public List<(ActivationName Name, int Layer)> Order { get; } = [];
        public Dictionary<(ActivationName Name, int Layer, int Position), float[]> Rows { get; } = [];

        public void OnActivation(in Activation activation)
        {
            Order.Add((activation.Name, activation.Layer));
            for (int t = 0; t < activation.Tokens; t++) Rows[(activation.Name, activation.Layer, activation.Position + t)] = activation.Row(t).ToArray();
        }
    }

    private static int[] Prompt(int length) => [.. Enumerable.Range(0, length).Select(i => (i * 7919 + 13) % 50_000)];

    [Fact]
    public void Each_layer_reports_its_intermediates_in_order_and_they_relate_as_the_equations_say()
    {
        var model = fixture.Model;
        var c = model.Config;
        var session = model.CreateSession();
        var recorder = new Recorder();
        session.ActivationObserver = recorder;
        var tokens = Prompt(9);
        session.Evaluate(tokens, new float[c.VocabSize]);

        var expectedOrder = Enumerable.Range(0, c.NumHiddenLayers).SelectMany(l => LayerOrder.Select(name => (name, l)))
            .Append((ActivationName.FinalNorm, -1)).ToArray();
        Assert.Equal(expectedOrder, recorder.Order);
        for (int p = 0; p < tokens.Length; p++)
            for (int l = 0; l < c.NumHiddenLayers; l++)
            {
                var ffnInput = recorder.Rows[(ActivationName.FfnInput, l, p)];
                var attention = recorder.Rows[(ActivationName.AttentionOutput, l, p)];
                var moe = recorder.Rows[(ActivationName.MoeOutput, l, p)];
                var output = recorder.Rows[(ActivationName.LayerOutput, l, p)];
                if (l > 0)
                {
                    var input = recorder.Rows[(ActivationName.LayerOutput, l - 1, p)];
                    Assert.Equal(input.Zip(attention, (a, b) => a + b), ffnInput);
                }
                Assert.Equal(ffnInput.Zip(moe, (a, b) => a + b), output);
                Assert.Equal(c.HiddenSize, output.Length);
                Assert.Equal(c.NumAttentionHeads * c.HeadDim, recorder.Rows[(ActivationName.Query, l, p)].Length);
                Assert.Equal(c.KeyValueSize, recorder.Rows[(ActivationName.Key, l, p)].Length);
                Assert.Equal(1.0, recorder.Rows[(ActivationName.RouterProbabilities, l, p)].Sum(v => (double)v), 5);
                AssertRmsNormed(ffnInput, recorder.Rows[(ActivationName.FfnNorm, l, p)], model, l, post: true);
            }
        // Only the last row's logits were asked for: the final norm of that row alone, the norm of the last layer's output.
        Assert.Single(recorder.Rows.Keys, key => key.Name == ActivationName.FinalNorm);
        var last = recorder.Rows[(ActivationName.LayerOutput, c.NumHiddenLayers - 1, tokens.Length - 1)];
        AssertRmsNormed(last, recorder.Rows[(ActivationName.FinalNorm, -1, tokens.Length - 1)], model, -1, post: false);
    }

    /// <summary>normed ≈ x / rms(x) · weight, computed in double.</summary>
    private static void AssertRmsNormed(float[] x, float[] normed, OlmoeModel model, int layer, bool post)
    {
        var weight = layer < 0 ? model.Weights.FinalNorm : post ? model.Weights.Layers[layer].PostAttentionNorm : model.Weights.Layers[layer].InputNorm;
        double rms = Math.Sqrt(x.Average(v => (double)v * v) + model.Config.RmsNormEps);
        for (int i = 0; i < x.Length; i++) Assert.Equal(x[i] / rms * weight[i], normed[i], 1e-4);
    }

    [Fact]
    public void Observing_changes_neither_the_logits_nor_the_allocations()
    {
        var model = fixture.Model;
        var tokens = Prompt(12);
        var plain = new float[model.Config.VocabSize];
        var observed = new float[model.Config.VocabSize];
        model.CreateSession().Evaluate(tokens, plain);
        var session = model.CreateSession();
        session.ActivationObserver = new Recorder();
        session.Evaluate(tokens, observed);
        Assert.Equal(plain, observed);

        var counting = model.CreateSession();
        int calls = 0;
        counting.ActivationObserver = new Counter(() => calls++);
        var logits = new float[model.Config.VocabSize];
        int[] token = [42];
        SteadyState.AssertAllocatesNothing(() => counting.Evaluate(token, logits), counting.Reset);
        Assert.True(calls > 0);
    }

    private sealed class Counter(Action seen) : IActivationObserver
    {
        public void OnActivation(in Activation activation) => seen();
    }

    [Fact]
    public async Task A_generation_in_a_batch_sees_only_its_own_rows_with_the_values_it_has_alone()
    {
        var model = fixture.Model;
        var prompt = Prompt(10);
        var alone = new Recorder();
        var session = model.CreateSession();
        session.ActivationObserver = alone;
        session.Evaluate(prompt, new float[model.Config.VocabSize]);

        var batched = new Recorder();
        var generator = new TextGenerator(model) { ActivationObserver = batched, MaxIdleSessions = 0 };
        var options = new GenerationOptions { MaxNewTokens = 1, Temperature = 0, IgnoreEndOfText = true };
        var others = Enumerable.Range(1, 3).Select(i => Task.Run(async () =>
        {
            await foreach (var _ in new TextGenerator(model).GenerateAsync(Prompt(10 + 5 * i), options with { MaxNewTokens = 8 })) { }
        })).ToArray();
        await foreach (var _ in generator.GenerateAsync(prompt, options)) { }
        await Task.WhenAll(others);

        Assert.Equal(alone.Rows.Keys.Order(), batched.Rows.Keys.Order());
        foreach (var (key, values) in alone.Rows)
            for (int i = 0; i < values.Length; i++) Assert.Equal(values[i], batched.Rows[key][i], 1e-4);
    }
}
