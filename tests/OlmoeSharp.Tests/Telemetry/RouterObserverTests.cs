using OlmoeSharp.Generation;
using OlmoeSharp.Tensors;
using OlmoeSharp.Scoring;
using OlmoeSharp.Telemetry;
using OlmoeSharp.Tests.Model;
using OlmoeSharp.Tests.Reference;

namespace OlmoeSharp.Tests.Telemetry;

/// <summary>
/// <see cref="IRouterObserver"/> sees exactly the routing the forward pass used: on the golden tiny checkpoints (whose
/// cases keep every routing decision at least 0.0116 router-logit away from a tie, greedy steps included) the observed
/// experts equal the double-precision reference's choice, in the router's order, for prompts processed as one block,
/// for tokens decoded one at a time after them and for whole sequences fed token by token. Weights, probabilities and
/// entropy: within 1e-4 of the reference (float32 against float64). And observing costs no allocation.
/// </summary>
public sealed class RouterObserverTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    private const double Tolerance = 1e-4;

    public enum Feed
    {
        /// <summary>The prompt as one Evaluate call, then the greedy continuation one token at a time.</summary>
        PromptThenDecode,
        /// <summary>Every token, prompt included, one Evaluate call each.</summary>
        TokenByToken,
        /// <summary>Prompt and continuation as one Evaluate call.</summary>
        OneBlock,
    }

    public static TheoryData<string, string, Feed> Cases()
    {
        var data = new TheoryData<string, string, Feed>();
        foreach (string model in new[] { "tiny/bf16", "tiny/f32-2shards" })
            foreach (string name in new[] { "t1", "t7", "t33" })
                foreach (var feed in Enum.GetValues<Feed>())
                    data.Add(model, name, feed);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Observed_experts_are_the_reference_forward_choice(string golden, string caseName, Feed feed)
    {
        string dir = SharedData.Path("golden", golden);
        var c = GoldenCase.LoadAll(Path.GetDirectoryName(dir)!).Single(x => x.Name == caseName);
        int[] sequence = [.. c.Tokens, .. c.Greedy];

        var expected = new Dictionary<(int Layer, int Position), (int[] Experts, double[] Weights, double[] Probabilities)>();
        new ReferenceOlmoe(dir).Forward(sequence, (l, t, experts, weights, probs) => expected[(l, t)] = (experts, weights, probs));

        using var model = OlmoeModel.Load(dir);
        var recorder = new Recorder();
        var session = model.CreateSession();
        session.RouterObserver = recorder;
        switch (feed)
        {
            case Feed.PromptThenDecode:
                session.Evaluate(c.Tokens, Span<float>.Empty);
                foreach (int token in c.Greedy) session.Evaluate([token], Span<float>.Empty);
                break;
            case Feed.TokenByToken:
                foreach (int token in sequence) session.Evaluate([token], Span<float>.Empty);
                break;
            case Feed.OneBlock:
                session.Evaluate(sequence, Span<float>.Empty);
                break;
        }

        int layers = model.Config.NumHiddenLayers, k = model.Config.NumExpertsPerToken;
        Assert.Equal(sequence.Length * layers, recorder.Calls.Count);
        Assert.Equal(expected.Count, recorder.Calls.Select(x => (x.Layer, x.Position)).Distinct().Count());
        foreach (var call in recorder.Calls)
        {
            var (experts, weights, probabilities) = expected[(call.Layer, call.Position)];
            string where = $"{golden}/{caseName} {feed} layer {call.Layer} position {call.Position}";
            Assert.Equal(sequence[call.Position], call.Token);
            Assert.True(experts.SequenceEqual(call.Experts), $"{where}: experts [{string.Join(",", call.Experts)}], reference [{string.Join(",", experts)}]");
            Assert.Equal(k, call.Weights.Length);
            for (int i = 0; i < k; i++) Assert.True(Math.Abs(weights[i] - call.Weights[i]) <= Tolerance, $"{where}: weight {i}");
            Assert.Equal(probabilities.Length, call.Probabilities.Length);
            for (int e = 0; e < probabilities.Length; e++) Assert.True(Math.Abs(probabilities[e] - call.Probabilities[e]) <= Tolerance, $"{where}: probability of expert {e}");
            double entropy = -probabilities.Where(p => p > 0).Sum(p => p * Math.Log(p));
            Assert.True(Math.Abs(entropy - call.Entropy) <= Tolerance, $"{where}: entropy {call.Entropy} vs {entropy}");
        }
    }

    /// <summary>Within a block the calls come layer by layer, each layer's tokens in order.</summary>
    [Fact]
    public void Calls_follow_the_computation_layer_by_layer()
    {
        var session = tiny.Model.CreateSession();
        var recorder = new Recorder();
        session.RouterObserver = recorder;
        session.Evaluate([3, 1, 4, 1, 5], Span<float>.Empty);
        session.Evaluate([9], Span<float>.Empty);
        int layers = tiny.Model.Config.NumHiddenLayers;
        var expected = Enumerable.Range(0, layers).SelectMany(l => Enumerable.Range(0, 5).Select(p => (l, p)))
            .Concat(Enumerable.Range(0, layers).Select(l => (l, 5)));
        Assert.Equal(expected, recorder.Calls.Select(x => (x.Layer, x.Position)));
        Assert.All(recorder.Calls, x => Assert.Equal(1.0, x.Probabilities.Sum(p => (double)p), 1e-5));
        Assert.All(recorder.Calls, x => Assert.Equal(x.Experts.Select(e => x.Probabilities[e]), x.Weights)); // norm_topk_prob false
        Assert.All(recorder.Calls, x => Assert.InRange(x.Entropy, 0, Math.Log(tiny.Model.Config.NumExperts) + 1e-6));

        // Detached: nothing more is seen.
        session.RouterObserver = null;
        session.Evaluate([2], Span<float>.Empty);
        Assert.Equal(6 * layers, recorder.Calls.Count);
    }

    /// <summary>With norm_topk_prob the weights are the renormalised probabilities the experts are mixed with.</summary>
    [Fact]
    public void With_norm_topk_prob_the_weights_are_renormalised_as_in_the_reference()
    {
        // The checkpoint and tokens of ReferenceForwardTests' "gqa-normtopk-f32-3shards" case, whose logits match the reference.
        var config = RandomCheckpoint.Tiny with { VocabSize = 1024, EosTokenIds = [1023], PadTokenId = 1, NumKeyValueHeads = 2, NormTopKProb = true };
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, config, new RandomCheckpointOptions { DType = TensorDType.F32, Shards = 3, Seed = 11 });
        int[] tokens = [5, 900, 17, 1023, 0, 333, 42, 42, 7, 512, 1, 64];
        var expected = new Dictionary<(int, int), (int[] Experts, double[] Weights)>();
        new ReferenceOlmoe(dir.Path).Forward(tokens, (l, t, experts, weights, _) => expected[(l, t)] = (experts, weights));

        using var model = OlmoeModel.Load(dir.Path);
        var recorder = new Recorder();
        var session = model.CreateSession();
        session.RouterObserver = recorder;
        session.Evaluate(tokens, Span<float>.Empty);
        Assert.Equal(expected.Count, recorder.Calls.Count);
        foreach (var call in recorder.Calls)
        {
            var (experts, weights) = expected[(call.Layer, call.Position)];
            Assert.Equal(experts, call.Experts);
            Assert.Equal(1.0, call.Weights.Sum(w => (double)w), 1e-5);
            for (int i = 0; i < weights.Length; i++) Assert.True(Math.Abs(weights[i] - call.Weights[i]) <= Tolerance);
        }
    }

    [Fact]
    public void Decoding_with_an_observer_allocates_nothing()
    {
        var session = tiny.Model.CreateSession();
        var observer = new Tally();
        session.RouterObserver = observer;
        var logits = new float[tiny.Model.Config.VocabSize];
        int[] token = [42];
        SteadyState.AssertAllocatesNothing(() => session.Evaluate(token, logits), session.Reset);
        Assert.True(observer.Count > 0 && observer.EntropySum > 0);
    }

    /// <summary>A scorer hands its observer to the sessions it runs: every evaluated token, every layer.</summary>
    [Fact]
    public void A_scorer_carries_its_observer()
    {
        var recorder = new Recorder();
        var scorer = new Scorer(tiny.Model) { RouterObserver = recorder };
        int[] tokens = [10, 20, 30, 40, 50, 60, 70, 80];
        scorer.Score(tokens);
        int layers = tiny.Model.Config.NumHiddenLayers;
        Assert.Equal(tokens.Length * layers, recorder.Calls.Count);
        Assert.Equal(tokens, recorder.Calls.Where(x => x.Layer == 0).Select(x => x.Token));

        recorder.Calls.Clear();
        scorer.Perplexity(Enumerable.Range(100, 16).ToArray(), context: 8);
        Assert.Equal(16 * layers, recorder.Calls.Count); // two windows of 8, positions 0..7 in each
        Assert.Equal(Enumerable.Range(0, 8).Concat(Enumerable.Range(0, 8)), recorder.Calls.Where(x => x.Layer == 0).Select(x => x.Position));
    }

    /// <summary>A generator hands its observer to its sessions: the prompt, then each generated token as it is fed back.</summary>
    [Fact]
    public async Task A_generator_carries_its_observer_through_prompt_and_decode()
    {
        string dir = SharedData.Path("golden", "tiny", "bf16");
        var c = GoldenCase.LoadAll(Path.GetDirectoryName(dir)!).Single(x => x.Name == "t7");
        using var model = OlmoeModel.Load(dir);
        var recorder = new Recorder();
        var generator = new TextGenerator(model) { RouterObserver = recorder };
        var generated = new List<int>();
        await foreach (var update in generator.GenerateAsync(c.Tokens, new GenerationOptions { Temperature = 0, MaxNewTokens = c.Greedy.Length, IgnoreEndOfText = true }))
            if (update.TokenId is int id) generated.Add(id);
        Assert.Equal(c.Greedy, generated);

        int[] sequence = [.. c.Tokens, .. c.Greedy];
        var expected = new Dictionary<(int, int), int[]>();
        new ReferenceOlmoe(dir).Forward(sequence, (l, t, experts, _, _) => expected[(l, t)] = experts);
        var layer0 = recorder.Calls.Where(x => x.Layer == 0).ToList();
        // Every token but possibly the last generated one is evaluated, each once, in order.
        Assert.InRange(layer0.Count, sequence.Length - 1, sequence.Length);
        Assert.Equal(Enumerable.Range(0, layer0.Count), layer0.Select(x => x.Position));
        Assert.Equal(sequence.Take(layer0.Count), layer0.Select(x => x.Token));
        foreach (var call in recorder.Calls) Assert.Equal(expected[(call.Layer, call.Position)], call.Experts);
    }

    private sealed class Recorder : IRouterObserver
    {
        public List<(int Layer, int Position, int Token, int[] Experts, float[] Weights, float[] Probabilities, double Entropy)> Calls { get; } = [];

        public void OnRouted(in RouterDecision decision) =>
            Calls.Add((decision.Layer, decision.Position, decision.Token, decision.Experts.ToArray(), decision.Weights.ToArray(), decision.Probabilities.ToArray(), decision.Entropy));
    }

    private sealed class Tally : IRouterObserver
    {
        public int Count { get; private set; }

        public double EntropySum { get; private set; }

        public void OnRouted(in RouterDecision decision)
        {
            Count++;
            EntropySum += decision.Entropy;
        }
    }
}
