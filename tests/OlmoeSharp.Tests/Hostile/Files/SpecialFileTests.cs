using OlmoeSharp.Loading;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Hostile.Files;

/// <summary>
/// A model folder can hold things that are not regular files under the expected names. A FIFO in particular blocks
/// whoever opens it until a writer appears: the loader must refuse it by its size instead of opening it.
/// </summary>
public sealed class SpecialFileTests
{
    [LinuxTheory] // mkfifo is POSIX; the size check it exercises is the same everywhere.
    [InlineData(HostileCheckpoint.ConfigFile)]
    [InlineData(HostileCheckpoint.Weights)]
    [InlineData(HostileCheckpoint.Index)]
    [InlineData(HostileCheckpoint.TokenizerFile)]
    public void A_fifo_in_place_of_a_file_is_refused_without_blocking(string fileName)
    {
        using var checkpoint = new HostileCheckpoint(fileName == HostileCheckpoint.Index ? new RandomCheckpointOptions { Shards = 2 } : null);
        string path = checkpoint.PathOf(fileName);
        Fifo.Create(path);

        var error = Fifo.Throws<ModelFormatException>(path, TimeSpan.FromSeconds(20), () => checkpoint.Load().Dispose());

        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(path + ":", error.Message);
    }
}
