namespace OlmoeSharp.Tests;

/// <summary>Allocation checks for hot paths, on the calling thread (other test classes run in parallel).</summary>
internal static class SteadyState
{
    /// <summary>
    /// Asserts that <paramref name="step"/> allocates nothing once warm: after 8 warm-up calls, four windows of 16
    /// calls are measured and the last two must allocate 0 bytes. The first windows may still see the runtime's
    /// one-time work (tiered recompilation lands at a time that depends on machine load); an allocation in the step
    /// itself shows in every window. <paramref name="beforeWindow"/> runs unmeasured before each window (to rewind a
    /// session, say, so a growing cache does not reallocate inside one).
    /// </summary>
    public static void AssertAllocatesNothing(Action step, Action? beforeWindow = null)
    {
        for (int i = 0; i < 8; i++) step();
        var windows = new long[4];
        for (int w = 0; w < windows.Length; w++)
        {
            beforeWindow?.Invoke();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 16; i++) step();
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(windows[^1] == 0 && windows[^2] == 0, $"bytes allocated per window of 16 calls: {string.Join(", ", windows)}");
    }
}
