using System.Text.Json.Nodes;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Hostile.ShardIndex;

/// <summary>
/// model.safetensors.index.json that lies: shards that do not exist, paths out of the model folder, tensors placed
/// in the wrong shard, malformed JSON, an empty or mistyped weight_map.
/// </summary>
public sealed class ShardIndexTests
{
    private const string Index = HostileCheckpoint.Index;

    private static HostileCheckpoint Sharded() => new(new RandomCheckpointOptions { Shards = 2 });

    private static void PlaceTensor(HostileCheckpoint checkpoint, string tensor, JsonNode? shard) =>
        checkpoint.EditJson(Index, index => index["weight_map"]![tensor] = shard);

    [Fact]
    public void A_shard_missing_from_the_folder_is_named()
    {
        using var checkpoint = Sharded();
        string second = checkpoint.Shards[1];
        checkpoint.Delete(second);
        var error = HostileAssert.Rejects(checkpoint, Index, second);
        Assert.Contains("not in", error.Message);
    }

    [Fact]
    public void A_shard_name_no_file_has_is_named()
    {
        using var checkpoint = Sharded();
        PlaceTensor(checkpoint, TensorNames.FinalNorm, "model-00003-of-00002.safetensors");
        HostileAssert.Rejects(checkpoint, Index, "model-00003-of-00002.safetensors");
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("/etc/passwd")]
    [InlineData("//server/share/x.safetensors")]
    [InlineData("sub/dir.safetensors")]
    [InlineData("sub\\dir.safetensors")]
    [InlineData("..\\outside.safetensors")]
    [InlineData("C:\\Windows\\win.ini")]
    [InlineData("C:relative.safetensors")]
    [InlineData("nul\0.safetensors")]
    public void A_shard_path_that_leaves_the_folder_is_refused(string shard)
    {
        using var checkpoint = Sharded();
        PlaceTensor(checkpoint, TensorNames.FinalNorm, shard);
        Assert.Contains("plain file name", HostileAssert.Rejects(checkpoint, Index, TensorNames.FinalNorm).Message);
    }

    [Fact]
    public void A_shard_name_longer_than_a_file_name_can_be_is_refused()
    {
        using var checkpoint = Sharded();
        PlaceTensor(checkpoint, TensorNames.FinalNorm, new string('a', 300) + ".safetensors");
        HostileAssert.Rejects(checkpoint, Index, TensorNames.FinalNorm);
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("sub/inside.safetensors")]
    public void A_real_shard_reached_by_a_path_is_still_refused(string shard)
    {
        // The file exists and is valid; only the path is wrong. Refusing by name, not by what is found there,
        // keeps the index from pointing the loader at any file it can reach.
        using var checkpoint = Sharded();
        string target = Path.GetFullPath(Path.Combine(checkpoint.Directory, shard));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(checkpoint.PathOf(checkpoint.Shards[1]), target);
        try
        {
            PlaceTensor(checkpoint, TensorNames.FinalNorm, shard);
            HostileAssert.Rejects(checkpoint, Index, TensorNames.FinalNorm);
        }
        finally
        {
            File.Delete(target);
        }
    }

    [Theory]
    [InlineData("5")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[\"model-00001-of-00002.safetensors\"]")]
    [InlineData("{\"file\": \"model-00001-of-00002.safetensors\"}")]
    public void A_shard_name_that_is_not_a_string_is_refused(string shard)
    {
        using var checkpoint = Sharded();
        PlaceTensor(checkpoint, TensorNames.FinalNorm, JsonNode.Parse(shard));
        HostileAssert.Rejects(checkpoint, Index, TensorNames.FinalNorm);
    }

    [Fact]
    public void A_tensor_placed_in_a_shard_that_lacks_it_names_shard_and_tensor()
    {
        using var checkpoint = Sharded();
        string first = checkpoint.Shards[0];
        Assert.NotEqual(first, checkpoint.ShardOf(TensorNames.LmHead));
        PlaceTensor(checkpoint, TensorNames.LmHead, first);
        Assert.Contains("does not contain", HostileAssert.Rejects(checkpoint, first, TensorNames.LmHead).Message);
    }

    [Fact]
    public void A_tensor_the_index_leaves_out_is_missing_from_the_checkpoint()
    {
        using var checkpoint = Sharded();
        checkpoint.EditJson(Index, index => index["weight_map"]!.AsObject().Remove(TensorNames.Router(1)));
        Assert.Contains("missing", HostileAssert.Rejects(checkpoint, Index, TensorNames.Router(1)).Message);
    }

    [Theory]
    [InlineData(Index)]
    [InlineData(HostileCheckpoint.ConfigFile)]
    public void A_shard_that_is_not_a_safetensors_file_is_refused(string shard)
    {
        using var checkpoint = Sharded();
        PlaceTensor(checkpoint, TensorNames.FinalNorm, shard);
        HostileAssert.Rejects(checkpoint, shard, item: null);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"weight_map\": {\"a\": \"b\"}")]
    [InlineData("{\"weight_map\": {}} trailing")]
    [InlineData("[]")]
    [InlineData("\"weight_map\"")]
    [InlineData("{}")]
    [InlineData("{\"weight_map\": null}")]
    [InlineData("{\"weight_map\": []}")]
    [InlineData("{\"weight_map\": \"model.safetensors\"}")]
    [InlineData("{\"metadata\": {\"total_size\": 1}}")]
    public void A_malformed_index_is_refused(string index)
    {
        using var checkpoint = Sharded();
        checkpoint.WriteText(Index, index);
        HostileAssert.RejectsFile(checkpoint, Index);
    }

    [Fact]
    public void An_empty_weight_map_is_refused()
    {
        using var checkpoint = Sharded();
        checkpoint.WriteText(Index, "{\"metadata\": {}, \"weight_map\": {}}");
        Assert.Contains("empty", HostileAssert.Rejects(checkpoint, Index, "weight_map").Message);
    }

    [Fact]
    public void A_tensor_listed_twice_is_refused()
    {
        using var checkpoint = Sharded();
        string text = File.ReadAllText(checkpoint.PathOf(Index));
        string entry = $"\"{TensorNames.LmHead}\": \"{checkpoint.ShardOf(TensorNames.LmHead)}\"";
        Assert.Contains(entry, text);
        checkpoint.WriteText(Index, text.Replace(entry, entry + ", " + entry));
        Assert.Contains("twice", HostileAssert.Rejects(checkpoint, Index, TensorNames.LmHead).Message);
    }

    [Fact]
    public void Deep_nesting_in_the_index_is_refused()
    {
        using var checkpoint = Sharded();
        checkpoint.WriteText(Index, "{\"metadata\": " + new string('[', 10_000) + new string(']', 10_000) + "}");
        HostileAssert.Rejects(checkpoint, Index, item: null);
    }

    [Fact]
    public void A_shard_name_that_is_not_utf8_is_refused()
    {
        using var checkpoint = Sharded();
        byte[] text = checkpoint.ReadBytes(Index);
        int at = text.AsSpan().IndexOf("model-00002"u8);
        text[at] = 0xFF;
        checkpoint.WriteBytes(Index, text);
        Assert.Contains("UTF-8", HostileAssert.Rejects(checkpoint, Index, item: null).Message);
    }

    [Fact]
    public void An_index_too_large_to_be_real_is_refused_unread()
    {
        using var checkpoint = Sharded();
        using (var stream = new FileStream(checkpoint.PathOf(Index), FileMode.Open, FileAccess.Write))
            stream.SetLength(65L << 20);
        HostileAssert.Rejects(checkpoint, Index, item: null);
    }
}
