using OlmoeSharp.Loading;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Hostile.Files;

/// <summary>
/// Disposing a model — or failing to load one — releases its mapped files: they can then be deleted or overwritten,
/// and a model loaded from the rewritten folder sees the new weights.
/// </summary>
public sealed class DisposalTests
{
    private static float[] FirstTokenLogits(OlmoeModel model)
    {
        var logits = new float[model.Config.VocabSize];
        model.CreateSession().Evaluate([3], logits);
        return logits;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void After_dispose_the_files_can_be_overwritten_and_reloaded(int shards)
    {
        using var checkpoint = new HostileCheckpoint(new RandomCheckpointOptions { Shards = shards, Seed = 1 });
        float[] before;
        using (var model = checkpoint.Load()) before = FirstTokenLogits(model);
        if (MappedFiles.CanInspect) Assert.False(MappedFiles.AnyUnder(checkpoint.Directory), "files still mapped after Dispose");

        // Overwrite in place (same paths, truncated and rewritten): safe only once nothing maps the old contents.
        RandomCheckpoint.Write(checkpoint.Directory, checkpoint.Config, new RandomCheckpointOptions { Shards = shards, Seed = 2 });
        using (var model = checkpoint.Load())
        {
            float[] after = FirstTokenLogits(model);
            Assert.NotEqual(before, after);
            using var fresh = new HostileCheckpoint(new RandomCheckpointOptions { Seed = 2 });
            using var reference = fresh.Load();
            Assert.Equal(FirstTokenLogits(reference), after);
        }
    }

    [Fact]
    public void After_dispose_the_files_can_be_deleted_and_replaced()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.Load().Dispose();
        foreach (string file in Directory.GetFiles(checkpoint.Directory)) File.Delete(file);
        Assert.Empty(Directory.GetFiles(checkpoint.Directory));
        RandomCheckpoint.Write(checkpoint.Directory, checkpoint.Config, new RandomCheckpointOptions { Seed = 3 });
        using var model = checkpoint.Load();
        Assert.All(FirstTokenLogits(model), v => Assert.True(float.IsFinite(v)));
    }

    [LinuxFact(Requires = MappedFiles.Table)] // Elsewhere the delete/overwrite tests above are the evidence.
    public void A_failed_load_leaves_no_file_mapped()
    {
        using var checkpoint = new HostileCheckpoint(new RandomCheckpointOptions { Shards = 3 });
        // Every shard opens fine; binding fails on the last tensor bound, when all of them are mapped.
        string lastShard = checkpoint.Shards[^1];
        string finalNormShard = checkpoint.ShardOf(TensorNames.FinalNorm);
        checkpoint.RewriteTensors(finalNormShard, tensors => tensors.Where(t => t.Name != TensorNames.FinalNorm));
        checkpoint.EditJson(HostileCheckpoint.Index, index => index["weight_map"]!.AsObject().Remove(TensorNames.FinalNorm));
        Assert.Throws<ModelFormatException>(() => checkpoint.Load().Dispose());
        Assert.False(MappedFiles.AnyUnder(checkpoint.Directory));

        // Here the first shards are mapped when the last one turns out to be corrupt.
        checkpoint.Truncate(lastShard, 100);
        Assert.Throws<ModelFormatException>(() => checkpoint.Load().Dispose());
        Assert.False(MappedFiles.AnyUnder(checkpoint.Directory));
    }

    [Fact]
    public void A_disposed_model_refuses_work_instead_of_reading_unmapped_memory()
    {
        using var checkpoint = new HostileCheckpoint();
        var model = checkpoint.Load();
        var session = model.CreateSession();
        model.Dispose();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.CreateSession());
        Assert.Throws<ObjectDisposedException>(() => session.Evaluate([1], new float[model.Config.VocabSize]));
    }
}
