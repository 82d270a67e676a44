namespace OlmoeSharp.Tests;

/// <summary>
/// <see cref="InferenceSession"/> on its own, below text generation: it decodes a token without allocating, refuses
/// ids outside the vocabulary, and stays consistent when a prompt is cancelled midway.
/// </summary>
public sealed class InferenceSessionTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void Decoding_a_token_allocates_nothing()
    {
        var session = fixture.Model.CreateSession();
        var logits = new float[fixture.Model.Config.VocabSize];
        int[] token = [42];
        SteadyState.AssertAllocatesNothing(() => session.Evaluate(token, logits), session.Reset);
    }

    [Fact]
    public void Token_ids_outside_the_vocabulary_are_refused()
    {
        var session = fixture.Model.CreateSession();
        var logits = new float[fixture.Model.Config.VocabSize];
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Evaluate([fixture.Model.Config.VocabSize], logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Evaluate([-1], logits));
        Assert.Equal(0, session.Position);
    }

    [Fact]
    public void Cancelling_a_prompt_midway_leaves_the_session_consistent()
    {
        var session = fixture.Model.CreateSession();
        var logits = new float[fixture.Model.Config.VocabSize];
        int[] prompt = Enumerable.Range(0, 500).Select(i => i * 7 % 50000).ToArray();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(3));
        try
        {
            session.Evaluate(prompt, logits, cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Cancelled inside a block: only whole blocks count as processed.
            Assert.Contains(session.Position, new[] { 0, 256 });
        }
        session.Reset();

        // The same session then computes exactly what a fresh one does.
        var expected = new float[logits.Length];
        fixture.Model.CreateSession().Evaluate(prompt[..40], expected);
        session.Evaluate(prompt[..40], logits);
        Assert.Equal(expected, logits);
    }

    [Fact]
    public void Truncating_or_copying_a_prefix_then_continuing_equals_computing_that_prefix_afresh()
    {
        var model = fixture.Model;
        int vocab = model.Config.VocabSize;
        int[] first = [.. Enumerable.Range(0, 60).Select(i => i * 37 % 50000)], next = [.. Enumerable.Range(0, 20).Select(i => 1000 + i)];
        var reference = model.CreateSession();
        reference.Evaluate(first.AsSpan(0, 30), Span<float>.Empty);
        var expected = new float[next.Length * vocab];
        reference.Evaluate(next, expected);

        var truncated = model.CreateSession();
        truncated.Evaluate(first, Span<float>.Empty);
        Assert.Equal(first, truncated.Tokens.ToArray());
        truncated.Truncate(30);
        var copied = model.CreateSession();
        copied.Evaluate([5, 6, 7], Span<float>.Empty);
        copied.CopyPrefixFrom(truncated, 30);
        foreach (var session in new[] { truncated, copied })
        {
            var actual = new float[next.Length * vocab];
            session.Evaluate(next, actual);
            Assert.Equal(expected, actual);
            Assert.Equal(first.Take(30).Concat(next).ToArray(), session.Tokens.ToArray());
        }
    }
}
