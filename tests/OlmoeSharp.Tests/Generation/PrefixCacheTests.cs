using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Generation;

/// <summary>
/// Prefix caching in <see cref="TextGenerator"/> and <see cref="ChatSession"/>: a request sharing a prefix with an idle
/// session evaluates only the rest (counted by the model), and generates exactly what recomputing would.
/// </summary>
public sealed class PrefixCacheTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private static readonly GenerationOptions Greedy = new() { Temperature = 0, MaxNewTokens = 10, IgnoreEndOfText = true };
    private static readonly int[] SystemPrompt = [.. Enumerable.Range(0, 120).Select(i => (i * 977 + 5) % 50000)];

    private static int[] Request(params int[] question) => [.. SystemPrompt, .. question];

    private static async Task<(List<int> Ids, GenerationUsage Usage)> Run(IAsyncEnumerable<GenerationUpdate> updates)
    {
        var ids = new List<int>();
        GenerationUsage? usage = null;
        await foreach (var update in updates)
        {
            if (update.TokenId is int id) ids.Add(id);
            usage = update.Usage ?? usage;
        }
        return (ids, usage!);
    }

    [Fact]
    public async Task A_second_request_sharing_a_prefix_evaluates_only_the_rest_and_generates_the_same_tokens()
    {
        var cached = new TextGenerator(fixture.Model);
        var uncached = new TextGenerator(fixture.Model) { MaxIdleSessions = 0 };
        int[] first = Request(1, 2, 3), second = Request(4, 5, 6, 7);

        var a = await Run(cached.GenerateAsync(first, Greedy));
        Assert.Equal(0, a.Usage.CachedPromptTokens);
        long before = fixture.Model.EvaluatedTokens;
        var b = await Run(cached.GenerateAsync(second, Greedy));
        long evaluated = fixture.Model.EvaluatedTokens - before;

        Assert.Equal(SystemPrompt.Length, b.Usage.CachedPromptTokens);
        Assert.Equal(4, b.Usage.PromptTokens);
        Assert.Equal(4 + Greedy.MaxNewTokens - 1, evaluated); // the 4 new prompt tokens, then each generated one but the last

        before = fixture.Model.EvaluatedTokens;
        var reference = await Run(uncached.GenerateAsync(second, Greedy));
        Assert.Equal(second.Length + Greedy.MaxNewTokens - 1, fixture.Model.EvaluatedTokens - before);
        Assert.Equal(0, reference.Usage.CachedPromptTokens);
        Assert.Equal(reference.Ids, b.Ids);
        Assert.Equal((await Run(uncached.GenerateAsync(first, Greedy))).Ids, a.Ids);

        // The same prompt again re-uses all of it but the last token (whose logits start the generation).
        var again = await Run(cached.GenerateAsync(second, Greedy));
        Assert.Equal(second.Length - 1, again.Usage.CachedPromptTokens);
        Assert.Equal(reference.Ids, again.Ids);
    }

    [Fact]
    public async Task A_request_sharing_only_the_system_prompt_copies_it_and_leaves_the_longer_cache_for_its_owner()
    {
        var cached = new TextGenerator(fixture.Model);
        var uncached = new TextGenerator(fixture.Model) { MaxIdleSessions = 0 };
        int[] first = Request(10, 11, 12);
        var a = await Run(cached.GenerateAsync(first, Greedy));
        var b = await Run(cached.GenerateAsync(Request(20, 21), Greedy));
        Assert.Equal(SystemPrompt.Length, b.Usage.CachedPromptTokens);

        // The first conversation continues: its whole previous prompt and answer (bar the last token) are still cached.
        int[] followUp = [.. first, .. a.Ids, 30, 31];
        var c = await Run(cached.GenerateAsync(followUp, Greedy));
        Assert.Equal(first.Length + a.Ids.Count - 1, c.Usage.CachedPromptTokens);
        Assert.Equal((await Run(uncached.GenerateAsync(followUp, Greedy))).Ids, c.Ids);
    }

    [Fact]
    public async Task Concurrent_requests_sharing_a_prefix_each_lease_their_own_session_and_match_recomputing()
    {
        var cached = new TextGenerator(fixture.Model);
        var uncached = new TextGenerator(fixture.Model) { MaxIdleSessions = 0 };
        var prompts = Enumerable.Range(0, 12).Select(i => Request(100 + i % 4, 200 + i)).ToArray();
        var expected = new List<List<int>>();
        foreach (var p in prompts) expected.Add((await Run(uncached.GenerateAsync(p, Greedy))).Ids);
        await Run(cached.GenerateAsync(Request(1), Greedy));
        var actual = await Task.WhenAll(prompts.Select(p => Task.Run(async () => (await Run(cached.GenerateAsync(p, Greedy))).Ids)));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task A_new_chat_with_the_same_system_prompt_reuses_it_and_answers_as_without_the_cache()
    {
        var cached = new TextGenerator(fixture.Model);
        const string system = "You are a careful assistant who answers every question about the sea in exactly three short sentences.";
        var first = new ChatSession(cached, systemPrompt: system);
        await Run(first.SendAsync("What is a tide?", Greedy));

        var second = new ChatSession(cached, systemPrompt: system);
        var (ids, usage) = await Run(second.SendAsync("Why is the sea salty?", Greedy));
        Assert.True(usage.CachedPromptTokens >= 20, $"re-used {usage.CachedPromptTokens} tokens");

        var fresh = new ChatSession(new TextGenerator(fixture.Model) { MaxIdleSessions = 0 }, systemPrompt: system);
        var (freshIds, freshUsage) = await Run(fresh.SendAsync("Why is the sea salty?", Greedy));
        Assert.Equal(0, freshUsage.CachedPromptTokens);
        Assert.Equal(freshIds, ids);
        Assert.Equal(freshUsage.PromptTokens, usage.PromptTokens + usage.CachedPromptTokens);
    }

    [Fact]
    public async Task The_pool_is_bounded_in_sessions_and_bytes()
    {
        var one = new TextGenerator(fixture.Model) { MaxIdleSessions = 1 };
        await Run(one.GenerateAsync(Request(1), Greedy));
        await Run(one.GenerateAsync([7, 8, 9, 10], Greedy)); // evicts the system prompt's session
        Assert.Equal(0, (await Run(one.GenerateAsync(Request(2), Greedy))).Usage.CachedPromptTokens);

        var tiny = new TextGenerator(fixture.Model) { MaxIdleCacheBytes = 1000 }; // less than one session's cache
        await Run(tiny.GenerateAsync(Request(1), Greedy));
        Assert.Equal(0, (await Run(tiny.GenerateAsync(Request(2), Greedy))).Usage.CachedPromptTokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextGenerator(fixture.Model) { MaxIdleSessions = -1 });
    }
}
