using OlmoeSharp.Tensors;

namespace OlmoeSharp.Tests.Tensors;

[Trait("Category", "Kernels")]
public sealed class WorkerPoolTests
{
    private sealed class CountingJob(int items) : IRangeJob
    {
        public readonly int[] Hits = new int[items];
        public void Execute(int start, int end)
        {
            for (int i = start; i < end; i++) Interlocked.Increment(ref Hits[i]);
        }
    }

    private sealed class FailingJob : IRangeJob
    {
        public void Execute(int start, int end)
        {
            if (end == 100) throw new InvalidDataException("boom");
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 4)]
    [InlineData(2, 1000, 4)]
    [InlineData(3, 17, 1)]
    [InlineData(4, 2, 1)]
    public void Every_item_runs_exactly_once(int threads, int items, int granularity)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 50; round++)
        {
            var job = new CountingJob(items);
            pool.Run(job, items, granularity);
            Assert.All(job.Hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void A_failure_on_any_thread_reaches_the_caller_and_the_pool_keeps_working()
    {
        using var pool = new WorkerPool(2);
        Assert.Throws<InvalidDataException>(() => pool.Run(new FailingJob(), 100, 1));
        var job = new CountingJob(10);
        pool.Run(job, 10, 1);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Concurrent_callers_are_serialised_not_mixed()
    {
        using var pool = new WorkerPool(2);
        Parallel.For(0, 8, _ =>
        {
            for (int round = 0; round < 50; round++)
            {
                var job = new CountingJob(64);
                pool.Run(job, 64, 4);
                Assert.All(job.Hits, h => Assert.Equal(1, h));
            }
        });
    }
}
