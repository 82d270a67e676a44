using System.Text;
using OlmoeSharp.Generation;
using OlmoeSharp.Tests.Model;

namespace OlmoeSharp.Tests.Generation;

public sealed class TextGeneratorTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private static readonly GenerationOptions Greedy = new() { Temperature = 0, MaxNewTokens = 24, IgnoreEndOfText = true };

    private static async Task<(string Text, List<int> Ids, GenerationUpdate Last)> Collect(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var text = new StringBuilder();
        var ids = new List<int>();
        GenerationUpdate? last = null;
        await foreach (var update in updates)
        {
            text.Append(update.Text);
            if (update.TokenId is int id) ids.Add(id);
            last = update;
        }
        Assert.NotNull(last);
        return (text.ToString(), ids, last);
    }

    [Fact]
    public async Task Greedy_generation_reproduces_the_golden_continuation()
    {
        string golden = GoldenLogitsTests.GoldenModels().First();
        var c = GoldenCase.LoadAll(GoldenLogitsTests.GoldenRoot(golden)).Last();
        using var model = OlmoeModel.Load(GoldenLogitsTests.GoldenModelDir(golden));
        var (_, ids, last) = await Collect(new TextGenerator(model).GenerateAsync(c.Tokens, Greedy with { MaxNewTokens = c.Greedy.Length }));
        Assert.Equal(c.Greedy, ids);
        Assert.Equal(FinishReason.Length, last.FinishReason);
        Assert.Equal(c.Tokens.Length, last.Usage!.PromptTokens);
        Assert.Equal(c.Greedy.Length, last.Usage.GeneratedTokens);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_text_and_another_seed_does_not()
    {
        var generator = new TextGenerator(fixture.Model);
        var options = new GenerationOptions { Temperature = 1f, TopK = 50, MaxNewTokens = 20, IgnoreEndOfText = true };
        var a = await Collect(generator.GenerateAsync("The weather today", options with { Seed = 5 }));
        var b = await Collect(generator.GenerateAsync("The weather today", options with { Seed = 5 }));
        var c = await Collect(generator.GenerateAsync("The weather today", options with { Seed = 6 }));
        Assert.Equal(a.Ids, b.Ids);
        Assert.Equal(a.Text, b.Text);
        Assert.NotEqual(a.Ids, c.Ids);
    }

    [Fact]
    public async Task Streamed_text_equals_the_decode_of_the_generated_ids()
    {
        var (text, ids, _) = await Collect(new TextGenerator(fixture.Model).GenerateAsync("Once upon a time", Greedy));
        Assert.Equal(fixture.Model.Tokenizer!.Decode(ids.ToArray(), skipSpecialTokens: true), text);
    }

    [Fact]
    public async Task A_stop_sequence_spanning_tokens_ends_generation_before_it()
    {
        var generator = new TextGenerator(fixture.Model);
        var tokenizer = fixture.Model.Tokenizer!;
        var (_, ids, _) = await Collect(generator.GenerateAsync("In the beginning", Greedy));
        // A stop string made of the end of token 5 and the start of token 6 (and 7): it spans token boundaries.
        string before = tokenizer.Decode(ids.Take(5).ToArray());
        string through = tokenizer.Decode(ids.Take(7).ToArray());
        int start = Math.Max(before.Length - 2, 1);
        string stop = through[start..Math.Min(through.Length, before.Length + 3)];
        var (text, _, last) = await Collect(generator.GenerateAsync("In the beginning", Greedy with { StopSequences = [stop] }));
        string full = tokenizer.Decode(ids.ToArray());
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], text);
        Assert.Equal(FinishReason.Stop, last.FinishReason);
    }

    [Fact]
    public async Task Concurrent_generations_on_one_model_equal_serial_ones()
    {
        var generator = new TextGenerator(fixture.Model);
        string[] prompts = ["alpha", "beta gamma", "delta epsilon zeta", "eta"];
        var serial = new List<List<int>>();
        foreach (string p in prompts) serial.Add((await Collect(generator.GenerateAsync(p, Greedy))).Ids);
        var parallel = await Task.WhenAll(prompts.Select(p => Task.Run(async () => (await Collect(generator.GenerateAsync(p, Greedy))).Ids)));
        Assert.Equal(serial, parallel);
    }

    [Fact]
    public async Task Cancellation_ends_with_a_cancelled_update_and_leaves_the_model_usable()
    {
        var generator = new TextGenerator(fixture.Model);
        var expected = (await Collect(generator.GenerateAsync("hello", Greedy))).Ids;
        using var cts = new CancellationTokenSource();
        int seen = 0;
        GenerationUpdate? last = null;
        await foreach (var update in generator.GenerateAsync("hello", Greedy with { MaxNewTokens = 400 }, cts.Token))
        {
            if (++seen == 3) cts.Cancel();
            last = update;
        }
        Assert.Equal(FinishReason.Cancelled, last!.FinishReason);
        Assert.True(seen < 10);
        Assert.Equal(expected, (await Collect(generator.GenerateAsync("hello", Greedy))).Ids);
    }

    [Fact]
    public void Prompt_plus_new_tokens_beyond_the_context_is_refused_up_front()
    {
        var generator = new TextGenerator(fixture.Model);
        int context = fixture.Model.Config.MaxPositionEmbeddings;
        var error = Assert.Throws<ArgumentException>(() => generator.GenerateAsync(Enumerable.Repeat(5, context - 10).ToArray(), Greedy with { MaxNewTokens = 11 }));
        Assert.Contains("context window", error.Message);
        Assert.Throws<ArgumentException>(() => generator.GenerateAsync(Array.Empty<int>(), Greedy));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.GenerateAsync([1, 2], Greedy with { Temperature = -1 }));
    }
}
