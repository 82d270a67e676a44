using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OlmoeSharp.Tests.Platform;

/// <summary>
/// Named pipes (POSIX FIFOs) in place of model files. Opening one for reading blocks until a writer appears, so a
/// reader that opens before checking what it opens hangs: these helpers create one and bound how long a call may take.
/// </summary>
internal static partial class Fifo
{
    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MakeFifo(string path, uint mode);

    /// <summary>Replaces whatever is at <paramref name="path"/> with a FIFO (Linux only).</summary>
    public static void Create(string path)
    {
        File.Delete(path);
        Assert.True(MakeFifo(path, Convert.ToUInt32("600", 8)) == 0, $"mkfifo {path} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a thread of its own and returns the <typeparamref name="T"/> it throws, or
    /// fails when it has not returned after <paramref name="limit"/>: then a writer opens <paramref name="fifo"/> so
    /// the blocked reader, and the test process, can finish.
    /// </summary>
    public static T Throws<T>(string fifo, TimeSpan limit, Action action) where T : Exception
    {
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                thrown = e;
            }
        }) { IsBackground = true };
        var clock = Stopwatch.StartNew();
        thread.Start();
        if (!thread.Join(limit))
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write)) { }
            thread.Join();
            Assert.Fail($"blocked on the FIFO {fifo} for more than {limit.TotalSeconds:0.#} s");
        }
        Assert.True(clock.Elapsed < limit, $"took {clock.Elapsed.TotalSeconds:0.###} s, more than {limit.TotalSeconds:0.#} s");
        return Assert.IsType<T>(thrown);
    }
}
