using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Loading;

/// <summary>
/// A model folder laid out like the Hugging Face cache — every file a relative symbolic link to a blob — loads and
/// computes exactly what the plain folder does. (A link's own size is not the file's: checking it refused the index.)
/// </summary>
public sealed class LinkedSnapshotTests
{
    [Fact]
    public void A_snapshot_of_symbolic_links_loads_like_the_plain_folder()
    {
        using var root = new TempDirectory();
        string plain = Path.Combine(root.Path, "plain"), blobs = Path.Combine(root.Path, "blobs"), snapshot = Path.Combine(root.Path, "snapshots", "c0ffee");
        RandomCheckpoint.Write(plain, RandomCheckpoint.Tiny with { VocabSize = 300, EosTokenIds = [299] }, new RandomCheckpointOptions { Shards = 2, Seed = 8 });
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        foreach (string file in Directory.GetFiles(plain))
        {
            string blob = Path.Combine(blobs, Path.GetFileName(file) + ".blob");
            File.Copy(file, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", Path.GetFileName(blob)));
        }

        using var direct = OlmoeModel.Load(plain);
        using var linked = OlmoeModel.Load(snapshot);
        var a = new float[300];
        var b = new float[300];
        direct.CreateSession().Evaluate([1, 2, 3], a);
        linked.CreateSession().Evaluate([1, 2, 3], b);
        Assert.Equal(a, b);
    }
}
