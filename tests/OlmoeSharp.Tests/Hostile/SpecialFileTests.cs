using System.Runtime.InteropServices;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Hostile;

/// <summary>
/// A model folder can hold things that are not regular files under the expected names. A FIFO in particular blocks
/// whoever opens it until a writer appears: the loader must refuse it by its size instead of opening it.
/// </summary>
public sealed partial class SpecialFileTests
{
    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MakeFifo(string path, uint mode);

    [Theory]
    [InlineData(HostileCheckpoint.ConfigFile)]
    [InlineData(HostileCheckpoint.Weights)]
    [InlineData(HostileCheckpoint.Index)]
    public async Task A_fifo_in_place_of_a_file_is_refused_without_blocking(string fileName)
    {
        if (!OperatingSystem.IsLinux()) return; // mkfifo is POSIX; the size check it exercises is the same everywhere.
        using var checkpoint = new HostileCheckpoint(fileName == HostileCheckpoint.Index ? new RandomCheckpointOptions { Shards = 2 } : null);
        string path = checkpoint.PathOf(fileName);
        File.Delete(path);
        Assert.Equal(0, MakeFifo(path, Convert.ToUInt32("600", 8)));

        var load = Task.Run(() => Assert.Throws<ModelFormatException>(() => checkpoint.Load().Dispose()));
        if (await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(20))) != load)
        {
            // Release the blocked open so the test process can finish, then fail.
            using (new FileStream(path, FileMode.Open, FileAccess.Write)) { }
            Assert.Fail($"loading blocked on the FIFO {fileName}");
        }
        Assert.Equal(path, (await load).FilePath);
    }
}
