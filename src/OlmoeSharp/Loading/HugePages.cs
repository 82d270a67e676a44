using System.Runtime.InteropServices;

namespace OlmoeSharp.Loading;

/// <summary>
/// Asks Linux to back a private allocation with transparent huge pages (madvise MADV_HUGEPAGE). Streaming gigabytes of
/// weights through 4 KiB pages costs a TLB miss every page; 2 MiB pages remove nearly all of them. A hint only:
/// elsewhere, or when the kernel declines, nothing changes.
/// </summary>
internal static unsafe partial class HugePages
{
    private const int MadviseHugePage = 14;
    private const int MadvisePopulateWrite = 23;

    /// <summary>
    /// Marks the range for huge pages, then faults it all in at once (MADV_POPULATE_WRITE, Linux 5.14+). Populating
    /// before the file is read matters: reading fills the page cache, and once memory is full of cache the kernel
    /// can no longer find free 2 MiB blocks and silently falls back to small pages.
    /// </summary>
    public static void Advise(void* address, nuint length)
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            if (Madvise(address, length, MadviseHugePage) == 0) _ = Madvise(address, length, MadvisePopulateWrite);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A libc without madvise: the hint is lost, nothing else.
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
