using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using OlmoeSharp.Loading;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>
/// The machine's streaming read rate: what decoding is bounded by, since a decoded token reads each weight it uses
/// once and from memory (the model is far larger than the caches). Each thread sums its own contiguous share of a
/// buffer of huge pages (as the packed weights live in) with vector loads, all threads started together; the rate is
/// the buffer's bytes over the slowest thread's time, best of several passes. Decode's ceiling = this rate ÷ the bytes
/// a token reads.
/// </summary>
internal static unsafe class ReadBandwidth
{
    public static double Measure(int threads, long bytes, int passes)
    {
        bytes &= ~((long)threads * 4096 - 1);
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 2 << 20);
        try
        {
            MemoryAdvice.UseHugePages(buffer, (nuint)bytes);
            // Every page faulted in before timing; a span holds at most 2 GiB.
            for (long done = 0; done < bytes; done += int.MaxValue) new Span<byte>(buffer + done, (int)Math.Min(int.MaxValue, bytes - done)).Clear();
            double best = 0;
            for (int pass = 0; pass < passes; pass++) best = Math.Max(best, bytes / Pass(buffer, bytes, threads) / 1e9);
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    /// <summary>Seconds for <paramref name="threads"/> threads to read the buffer, each its share.</summary>
    private static double Pass(byte* buffer, long bytes, int threads)
    {
        long share = bytes / threads;
        using var start = new Barrier(threads + 1);
        var elapsed = new double[threads];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            Sink = Sum(buffer + t * share, share);
            elapsed[t] = clock.Elapsed.TotalSeconds;
        })).ToArray();
        foreach (var worker in workers) worker.Start();
        start.SignalAndWait();
        foreach (var worker in workers) worker.Join();
        return elapsed.Max();
    }

    /// <summary>Keeps the sums observable, so the reads are not optimised away.</summary>
    private static volatile int Sink;

    private static int Sum(byte* p, long length)
    {
        Vector256<int> a = default, b = default, c = default, d = default;
        for (byte* end = p + length; p < end; p += 128)
        {
            a += Vector256.Load((int*)p);
            b += Vector256.Load((int*)(p + 32));
            c += Vector256.Load((int*)(p + 64));
            d += Vector256.Load((int*)(p + 96));
        }
        return Vector256.Sum(a + b + c + d);
    }
}
