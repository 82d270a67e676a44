using OlmoeSharp.Batching;
using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Tests.Batching;

/// <summary>
/// The batched step against each sequence run alone: several sequences at different positions (prompts of different
/// lengths, split into chunks, decoding side by side, joining and leaving mid-way, one cancelled) must get, token for
/// token, the logits a session gives by itself — within 1e-4 (a batch multiplies the same weights by more tokens at
/// once, so sums may round differently) and the same greedy ids.
/// </summary>
public sealed class BatchedStepTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private const float Tolerance = 1e-4f;

    private static int[] Prompt(int length, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => random.Next(1, 50_000))];
    }

    /// <summary>The sequence alone through <see cref="InferenceSession.Evaluate"/>: the logits after its prompt and after each greedy token.</summary>
    private static List<float[]> Alone(OlmoeModel model, int[] prompt, int steps)
    {
        var session = model.CreateSession();
        var result = new List<float[]>();
        var logits = new float[model.Config.VocabSize];
        session.Evaluate(prompt, logits);
        result.Add([.. logits]);
        for (int s = 0; s < steps; s++)
        {
            session.Evaluate([ArgMax(logits)], logits);
            result.Add([.. logits]);
        }
        return result;
    }

    /// <summary>The same through the scheduler, in whatever steps it forms with the other sequences running.</summary>
    private static async Task<List<float[]>> Batched(OlmoeModel model, int[] prompt, int steps, Task? joinAfter = null, CancellationToken token = default)
    {
        if (joinAfter is not null) await joinAfter;
        var session = model.CreateSession();
        var result = new List<float[]>();
        var logits = new float[model.Config.VocabSize];
        await model.Scheduler.EvaluateAsync(session, prompt, logits, token);
        result.Add([.. logits]);
        for (int s = 0; s < steps; s++)
        {
            await model.Scheduler.EvaluateAsync(session, [ArgMax(logits)], logits, token);
            result.Add([.. logits]);
        }
        return result;
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static void AssertSame(List<float[]> expected, List<float[]> actual, string name)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int step = 0; step < expected.Count; step++)
        {
            Assert.Equal(ArgMax(expected[step]), ArgMax(actual[step]));
            float worst = 0;
            for (int i = 0; i < expected[step].Length; i++) worst = Math.Max(worst, Math.Abs(expected[step][i] - actual[step][i]));
            Assert.True(worst <= Tolerance, $"{name}, step {step}: logits differ by {worst:E2} from the sequence alone (tolerance {Tolerance:E0})");
        }
    }

    [Fact]
    public async Task One_sequence_through_the_scheduler_equals_evaluate_bit_for_bit()
    {
        var prompt = Prompt(23, 1);
        var alone = Alone(fixture.Model, prompt, 5);
        var batched = await Batched(fixture.Model, prompt, 5);
        for (int step = 0; step < alone.Count; step++) Assert.Equal(alone[step], batched[step]);
    }

    [Fact]
    public async Task Sequences_batched_together_get_the_logits_they_get_alone()
    {
        // Chunks of 8 prompt tokens while others decode, so the 40- and 70-token prompts run over several mixed steps.
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Batching = new BatchingOptions { PrefillChunkTokens = 8 } });
        (int Length, int Steps)[] sequences = [(5, 12), (17, 6), (1, 9), (40, 8), (70, 3), (9, 14)];
        var expected = sequences.Select((s, i) => Alone(model, Prompt(s.Length, i), s.Steps)).ToArray();
        var before = model.BatchingStatus;

        // Three start together; the others join once the first has produced a few tokens, and all leave at different steps.
        var early = new TaskCompletionSource();
        var tasks = new Task<List<float[]>>[sequences.Length];
        for (int i = 0; i < sequences.Length; i++)
        {
            int index = i;
            tasks[i] = i < 3
                ? Task.Run(() => Batched(model, Prompt(sequences[index].Length, index), sequences[index].Steps))
                : Task.Run(() => Batched(model, Prompt(sequences[index].Length, index), sequences[index].Steps, early.Task));
        }
        while (model.BatchingStatus.Steps - before.Steps < 4) await Task.Delay(1);
        early.SetResult();
        var actual = await Task.WhenAll(tasks);

        for (int i = 0; i < sequences.Length; i++) AssertSame(expected[i], actual[i], $"sequence {i} ({sequences[i].Length}-token prompt)");
        var after = model.BatchingStatus;
        double meanBatch = (double)(after.StepSequences - before.StepSequences) / (after.Steps - before.Steps);
        Assert.True(meanBatch > 1.5, $"the steps held {meanBatch:F2} sequences on average: the sequences were not batched");
    }

    [Fact]
    public async Task A_sequence_cancelled_mid_way_leaves_and_the_others_are_unaffected()
    {
        var model = fixture.Model;
        (int Length, int Steps)[] sequences = [(6, 10), (13, 10), (3, 10)];
        var expected = sequences.Select((s, i) => Alone(model, Prompt(s.Length, 100 + i), s.Steps)).ToArray();
        using var cts = new CancellationTokenSource();
        var victim = Task.Run(() => Batched(model, Prompt(30, 7), 200, token: cts.Token));
        var tasks = sequences.Select((s, i) => Task.Run(() => Batched(model, Prompt(s.Length, 100 + i), s.Steps))).ToArray();
        await Task.Delay(20);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => victim);
        var actual = await Task.WhenAll(tasks);
        for (int i = 0; i < sequences.Length; i++) AssertSame(expected[i], actual[i], $"sequence {i}");
    }

    private sealed class ThrowingObserver(int layer) : IRouterObserver
    {
        public void OnRouted(in RouterDecision decision)
        {
            if (decision.Layer == layer) throw new InvalidOperationException("observer failed");
        }
    }

    [Fact]
    public async Task An_observer_that_throws_fails_its_own_sequence_only()
    {
        var model = fixture.Model;
        var good = Prompt(11, 3);
        var expected = Alone(model, good, 0)[0];
        var failing = model.CreateSession();
        failing.RouterObserver = new ThrowingObserver(1);
        var healthy = model.CreateSession();
        var logits = new float[model.Config.VocabSize];
        var other = new float[model.Config.VocabSize];
        var bad = model.Scheduler.EvaluateAsync(failing, Prompt(7, 4), other, CancellationToken.None);
        var fine = model.Scheduler.EvaluateAsync(healthy, good, logits, CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Equal("observer failed", error.Message);
        await fine;
        Assert.Equal(0, failing.Position);
        Assert.Equal(good.Length, healthy.Position);
        AssertSame([expected], [logits], "the healthy sequence");
    }
}
