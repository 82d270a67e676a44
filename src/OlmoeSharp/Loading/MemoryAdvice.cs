using System.Runtime.InteropServices;

namespace OlmoeSharp.Loading;

/// <summary>
/// Hints to Linux about memory the weights live in (madvise). Hints only: elsewhere, or when the kernel declines,
/// nothing changes.
/// </summary>
internal static unsafe partial class MemoryAdvice
{
    private const int MadviseDontNeed = 4;
    private const int MadviseCold = 20;
    private const int MadviseHugePage = 14;
    private const int MadvisePopulateWrite = 23;

    /// <summary>
    /// Backs a private allocation with transparent huge pages (MADV_HUGEPAGE): streaming gigabytes of weights through
    /// 4 KiB pages costs a TLB miss every page; 2 MiB pages remove nearly all of them. With
    /// <paramref name="populate"/>, also faults the range in at once (MADV_POPULATE_WRITE, Linux 5.14+): a copy of a
    /// whole file is populated before the file is read, since reading fills the page cache and once memory is full
    /// of cache the kernel can no longer find free 2 MiB blocks and silently falls back to small pages.
    /// </summary>
    public static void UseHugePages(void* address, nuint length, bool populate = true)
    {
        if (TryAdvise(address, length, MadviseHugePage) && populate) TryAdvise(address, length, MadvisePopulateWrite);
    }

    /// <summary>
    /// Unmaps the whole pages inside [address, address + length) of a read-only file mapping from this process
    /// (MADV_DONTNEED) after marking them the first to reclaim (MADV_COLD): resident memory drops, the file stays in
    /// the page cache until memory is short, and a later read maps it again. Used after a tensor has been re-encoded
    /// elsewhere, so reading the source neither counts against peak memory nor pushes out what is still to be read.
    /// </summary>
    public static void ReleaseMappedPages(void* address, nuint length)
    {
        const nuint page = 4096;
        nuint start = ((nuint)address + page - 1) & ~(page - 1), end = ((nuint)address + length) & ~(page - 1);
        if (end <= start) return;
        TryAdvise((void*)start, end - start, MadviseCold);
        TryAdvise((void*)start, end - start, MadviseDontNeed);
    }

    private static bool TryAdvise(void* address, nuint length, int advice)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Madvise(address, length, advice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A libc without madvise: the hint is lost, nothing else.
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
