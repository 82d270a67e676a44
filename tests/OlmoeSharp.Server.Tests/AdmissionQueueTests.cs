namespace OlmoeSharp.Server.Tests;

/// <summary><see cref="AdmissionQueue"/> alone: bounds counted in sequences, first come first served, 429 past the queue, leaving the queue.</summary>
public sealed class AdmissionQueueTests
{
    [Fact]
    public async Task Requests_run_within_the_bound_wait_in_order_and_are_refused_past_the_queue()
    {
        var queue = new AdmissionQueue(maxRunning: 3, maxWaiting: 3);
        var first = await queue.EnterAsync(2, CancellationToken.None);
        var second = queue.EnterAsync(2, CancellationToken.None).AsTask(); // 2 + 2 > 3: waits
        var third = queue.EnterAsync(1, CancellationToken.None).AsTask();  // would fit, but does not overtake
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);
        Assert.Equal((2, 3), (queue.Running, queue.Waiting));

        var refused = await Assert.ThrowsAsync<ApiException>(() => queue.EnterAsync(1, CancellationToken.None).AsTask());
        Assert.Equal(429, refused.Status);
        Assert.NotNull(refused.RetryAfterSeconds);

        first.Dispose();
        first.Dispose(); // a second dispose gives nothing back twice
        using (await second)
        {
            using (await third)
                Assert.Equal((3, 0), (queue.Running, queue.Waiting));
        }
        Assert.Equal((0, 0), (queue.Running, queue.Waiting));
    }

    [Fact]
    public async Task A_waiting_request_that_is_cancelled_leaves_the_queue_and_lets_the_next_in()
    {
        var queue = new AdmissionQueue(maxRunning: 2, maxWaiting: 4);
        var running = await queue.EnterAsync(1, CancellationToken.None);
        using var leave = new CancellationTokenSource();
        var large = queue.EnterAsync(2, leave.Token).AsTask();
        var small = queue.EnterAsync(1, CancellationToken.None).AsTask(); // behind the large one
        Assert.False(small.IsCompleted);

        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => large);
        using (await small)
            Assert.Equal((2, 0), (queue.Running, queue.Waiting));
        running.Dispose();
        Assert.Equal((0, 0), (queue.Running, queue.Waiting));
    }
}
