using System.Text.Json;
using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

[Collection(HubCollection.Name)]
public sealed class HostileIndexTests
{
    [Theory]
    [InlineData("../evil.safetensors")]
    [InlineData("../../../../evil.safetensors")]
    [InlineData("/tmp/evil.safetensors")]
    [InlineData("sub/evil.safetensors")]
    [InlineData("..\\evil.safetensors")]
    [InlineData("C:evil.safetensors")]
    [InlineData("evil.sh")]
    [InlineData("..")]
    public async Task A_shard_name_that_is_not_a_plain_file_is_refused_before_any_request_for_it(string shard)
    {
        await using var bed = new HubTestBed();
        string index = JsonSerializer.Serialize(new { weight_map = new Dictionary<string, string> { ["a"] = "model-00001-of-00002.safetensors", ["b"] = shard } });
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.ShardedModel(index));
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<ModelFormatException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal("b", error.Item);
        Assert.EndsWith("model.safetensors.index.json", error.FilePath, StringComparison.Ordinal);
        Assert.DoesNotContain(bed.Server.AllRequests, r => r.Path.Contains("evil", StringComparison.Ordinal) || r.Path.EndsWith("/..", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFileSystemEntries(bed.Root, "*evil*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder, "refs", "main")));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"metadata":{}}""")]
    [InlineData("""{"weight_map":{"a":7}}""")]
    [InlineData("""{"weight_map":{}}""")]
    public async Task A_malformed_index_is_a_model_format_error(string index)
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.ShardedModel(index));
        using var resolver = bed.Resolver();

        await Assert.ThrowsAsync<ModelFormatException>(() => resolver.ResolveAsync(HubTestBed.RepoId));
    }
}
