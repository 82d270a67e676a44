using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Generation;

/// <summary>
/// A load test on one shared model: 200 requests from 6 concurrent callers, a third of them cancelled at a random
/// moment. No exception may escape, every completed greedy request must equal its serial result, every completed
/// sampled one must run its full length, and memory must stay flat. (Concurrent requests are batched: a token's sums
/// are then made in another order than alone — within 1e-4, see Batching/BatchedStepTests — which can move a sampled
/// draw across a threshold, so sampled requests are not compared token for token.)
/// </summary>
public sealed class ConcurrentLoadTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private const int Requests = 200;
    private static readonly string[] Prompts = ["one", "two words", "three little words", "a somewhat longer prompt here", "x"];

    private static GenerationOptions Options(int request) => new()
    {
        Temperature = request % 2 == 0 ? 0 : 0.9f,
        Seed = (ulong)(request % 7),
        MaxNewTokens = 6,
        IgnoreEndOfText = true,
    };

    private static async Task<(List<int> Ids, FinishReason Finish)> Run(TextGenerator generator, int request, CancellationToken token)
    {
        var ids = new List<int>();
        var finish = FinishReason.Length;
        await foreach (var update in generator.GenerateAsync(Prompts[request % Prompts.Length], Options(request), token))
        {
            if (update.TokenId is int id) ids.Add(id);
            if (update.FinishReason is { } f) finish = f;
        }
        return (ids, finish);
    }

    [Fact]
    public async Task Concurrent_requests_with_random_cancellations_match_their_serial_results()
    {
        var generator = new TextGenerator(fixture.Model);
        var serial = new Dictionary<(int Prompt, int Options), List<int>>();
        for (int request = 0; request < 5 * 14; request++)
            serial[(request % Prompts.Length, request % 14)] = (await Run(generator, request, CancellationToken.None)).Ids;

        GC.Collect();
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        int completed = 0, cancelled = 0;
        var random = new Random(12);
        var delays = Enumerable.Range(0, Requests).Select(_ => random.Next(3) == 0 ? random.Next(1, 20) : -1).ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, Requests), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (request, _) =>
        {
            using var cts = new CancellationTokenSource();
            if (delays[request] > 0) cts.CancelAfter(delays[request]);
            var (ids, finish) = await Run(generator, request, cts.Token);
            if (finish == FinishReason.Cancelled)
            {
                Interlocked.Increment(ref cancelled);
                return;
            }
            if (Options(request).Temperature == 0) Assert.Equal(serial[(request % Prompts.Length, request % 14)], ids);
            else Assert.Equal(Options(request).MaxNewTokens, ids.Count);
            Interlocked.Increment(ref completed);
        });
        Assert.Equal(Requests, completed + cancelled);
        Assert.True(completed > Requests / 2, $"only {completed} completed");

        GC.Collect();
        long growth = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        Assert.True(growth < 64 << 20, $"managed memory grew by {growth / 1e6:F1} MB over {Requests} requests");
    }
}
