using OlmoeSharp.Batching;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Batching;

/// <summary>Admission to a model's batched generation: a bounded number running, a bounded queue, first come first served, nothing leaked.</summary>
public sealed class BatchAdmissionTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private static readonly GenerationOptions Long = new() { MaxNewTokens = 400, Temperature = 0, IgnoreEndOfText = true };

    private static async Task<int> Count(IAsyncEnumerable<GenerationUpdate> updates)
    {
        int tokens = 0;
        await foreach (var update in updates) if (update.TokenId is not null) tokens++;
        return tokens;
    }

    /// <summary>Runs an enumeration to its end and disposes it: the finish reason of its last update.</summary>
    private static async Task<FinishReason?> Finish(IAsyncEnumerator<GenerationUpdate> updates)
    {
        FinishReason? finish = null;
        while (await updates.MoveNextAsync()) finish = updates.Current.FinishReason ?? finish;
        await updates.DisposeAsync();
        return finish;
    }

    [Fact]
    public async Task Beyond_the_running_and_queued_limits_a_generation_is_refused_and_the_queue_drains_in_order()
    {
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Batching = new BatchingOptions { MaxSequences = 1, MaxQueuedSequences = 1 } });
        var generator = new TextGenerator(model);
        using var stopFirst = new CancellationTokenSource();

        // The first runs until cancelled; the second waits for its place; a third finds the queue full.
        var first = generator.GenerateAsync("the first", Long, stopFirst.Token).GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());
        var second = Task.Run(() => Count(generator.GenerateAsync("the second", Long with { MaxNewTokens = 3 })));
        while (model.BatchingStatus.QueuedSequences == 0) await Task.Delay(1);
        Assert.Equal(1, model.BatchingStatus.RunningSequences);
        Assert.True(model.BatchingStatus.RunningCacheBytes > 0);

        var refused = await Assert.ThrowsAsync<BatchQueueFullException>(() => Count(generator.GenerateAsync("the third", Long)));
        Assert.Equal((1, 1), (refused.Running, refused.Queued));
        Assert.False(second.IsCompleted);

        stopFirst.Cancel();
        Assert.Equal(FinishReason.Cancelled, await Finish(first));
        Assert.Equal(3, await second);
        Assert.Equal((0, 0, 0L), (model.BatchingStatus.RunningSequences, model.BatchingStatus.QueuedSequences, model.BatchingStatus.RunningCacheBytes));
    }

    [Fact]
    public async Task A_generation_cancelled_while_queued_leaves_the_queue()
    {
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Batching = new BatchingOptions { MaxSequences = 1 } });
        var generator = new TextGenerator(model);
        using var stopFirst = new CancellationTokenSource();
        var first = generator.GenerateAsync("the first", Long, stopFirst.Token).GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());

        using var stopQueued = new CancellationTokenSource();
        var queued = generator.GenerateAsync("queued", Long, stopQueued.Token).GetAsyncEnumerator();
        var next = queued.MoveNextAsync().AsTask();
        while (model.BatchingStatus.QueuedSequences == 0) await Task.Delay(1);
        stopQueued.Cancel();
        Assert.True(await next);
        Assert.Equal(FinishReason.Cancelled, queued.Current.FinishReason);
        Assert.Equal(0, queued.Current.Usage!.GeneratedTokens);
        Assert.Equal(0, model.BatchingStatus.QueuedSequences);
        Assert.Equal(1, model.BatchingStatus.RunningSequences);

        stopFirst.Cancel();
        Assert.Equal(FinishReason.Cancelled, await Finish(first));
        await queued.DisposeAsync();
        Assert.Equal(0, model.BatchingStatus.RunningSequences);
    }

    [Fact]
    public void Batching_options_out_of_range_are_refused_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Batching = new BatchingOptions { PrefillChunkTokens = 0 } }));
        Assert.Equal("PrefillChunkTokens", error.ParamName);
        error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Batching = new BatchingOptions { MaxSequences = 0 } }));
        Assert.Equal("MaxSequences", error.ParamName);
    }
}
