using OlmoeSharp.Analysis;
using OlmoeSharp.Tests.Model;
using OlmoeSharp.Tests.Reference;

namespace OlmoeSharp.Tests.Analysis;

/// <summary>
/// The recorder keeps exactly the routing the forward pass computed: on the golden tiny checkpoints (whose cases keep
/// every decision clear of ties) the recorded experts are the double-precision reference's, in the router's order,
/// and the weights within float error — for a whole sequence, for windows each run from an empty cache, and for a
/// prompt followed by tokens decoded one by one. Recording allocates nothing once its buffers are sized.
/// </summary>
public sealed class RoutingRecorderTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("tiny/bf16", 0)]        // one window: the whole sequence
    [InlineData("tiny/f32-2shards", 0)]
    [InlineData("tiny/bf16", 16)]       // windows of 16, each from an empty cache
    [InlineData("tiny/f32-2shards", 11)]
    public void Route_records_the_reference_forward_routing(string golden, int context)
    {
        string dir = SharedData.Path("golden", golden);
        var c = GoldenCase.LoadAll(Path.GetDirectoryName(dir)!).Single(x => x.Name == "t33");
        int[] sequence = [.. c.Tokens, .. c.Greedy];
        int window = context == 0 ? sequence.Length : context;

        using var model = OlmoeModel.Load(dir);
        var routing = RoutingRecorder.Route(model, "t33", sequence, window);
        Assert.Equal(sequence, routing.Tokens.ToArray());
        Assert.Equal(model.Config.NumHiddenLayers, routing.Layers);
        Assert.Equal(model.Config.NumExpertsPerToken, routing.ExpertsPerToken);

        var reference = new ReferenceOlmoe(dir);
        for (int start = 0; start < sequence.Length; start += window)
        {
            int[] part = sequence[start..Math.Min(start + window, sequence.Length)];
            int seen = 0;
            reference.Forward(part, (layer, t, experts, weights, _) =>
            {
                seen++;
                string where = $"{golden} window at {start}, layer {layer}, position {start + t}";
                Assert.True(experts.Select(e => (ushort)e).SequenceEqual(routing.Experts(start + t, layer).ToArray()), where);
                var recorded = routing.Weights(start + t, layer);
                for (int i = 0; i < weights.Length; i++) Assert.True(Math.Abs(weights[i] - recorded[i]) <= Tolerance, $"{where}: weight {i}");
            });
            Assert.Equal(part.Length * routing.Layers, seen);
        }
    }

    [Fact]
    public void A_recorder_on_a_session_records_prompt_and_decoded_tokens_alike()
    {
        string dir = SharedData.Path("golden", "tiny", "bf16");
        var c = GoldenCase.LoadAll(Path.GetDirectoryName(dir)!).Single(x => x.Name == "t7");
        int[] sequence = [.. c.Tokens, .. c.Greedy];
        using var model = OlmoeModel.Load(dir);

        var recorder = new RoutingRecorder(model.Config);
        var session = model.CreateSession();
        session.RouterObserver = recorder;
        session.Evaluate(c.Tokens, Span<float>.Empty);
        foreach (int token in c.Greedy) session.Evaluate([token], Span<float>.Empty);
        var stepwise = recorder.Complete("stepwise");

        Assert.Equal(0, recorder.Length); // it starts over
        var whole = RoutingRecorder.Route(model, "whole", sequence, sequence.Length);
        var reference = new Dictionary<(int, int), int[]>();
        new ReferenceOlmoe(dir).Forward(sequence, (l, t, experts, _, _) => reference[(l, t)] = experts);
        for (int p = 0; p < sequence.Length; p++)
            for (int l = 0; l < model.Config.NumHiddenLayers; l++)
            {
                Assert.Equal(reference[(l, p)].Select(e => (ushort)e), stepwise.Experts(p, l).ToArray());
                Assert.Equal(stepwise.Experts(p, l).ToArray(), whole.Experts(p, l).ToArray());
            }
    }

    [Fact]
    public void A_position_left_out_is_reported_not_recorded_as_empty()
    {
        var recorder = new RoutingRecorder(tiny.Model.Config);
        var session = tiny.Model.CreateSession();
        session.RouterObserver = recorder;
        session.Evaluate([5, 6], Span<float>.Empty);
        session.Reset();
        recorder.PositionOffset = 3; // position 2 is skipped
        session.Evaluate([7], Span<float>.Empty);
        Assert.Equal(4, recorder.Length);
        var e = Assert.Throws<InvalidOperationException>(() => recorder.Complete("gappy"));
        Assert.Contains("position 2", e.Message);
    }

    [Fact]
    public void Recording_a_decoded_token_allocates_nothing()
    {
        var recorder = new RoutingRecorder(tiny.Model.Config);
        recorder.EnsureCapacity(64);
        var session = tiny.Model.CreateSession();
        session.RouterObserver = recorder;
        int[] token = [42];
        SteadyState.AssertAllocatesNothing(() => session.Evaluate(token, Span<float>.Empty), session.Reset);
        Assert.Equal(16, recorder.Length);
    }

    [Fact]
    public void Route_refuses_empty_input_and_contexts_out_of_range()
    {
        Assert.Throws<ArgumentException>(() => RoutingRecorder.Route(tiny.Model, "empty", [], 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoutingRecorder.Route(tiny.Model, "x", [1, 2], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RoutingRecorder.Route(tiny.Model, "x", [1, 2], tiny.Model.Config.MaxPositionEmbeddings + 1));
    }
}
