using OlmoeSharp.Hub;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Hub;

[Collection(HubCollection.Name)]
public sealed class OfflineTests
{
    [Fact]
    public async Task Offline_a_cached_model_resolves_from_refs_without_any_request()
    {
        await using var bed = new HubTestBed();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.ShardedModel());
        using (var online = bed.Resolver()) await online.ResolveAsync(HubTestBed.RepoId);
        int requests = bed.Server.AllRequests.Count();
        // An endpoint nobody listens on: any attempt to use the network would fail the test.
        using var offline = bed.Resolver(bed.Options with { Offline = true, Endpoint = new Uri("http://127.0.0.1:9/") });

        string byBranch = await offline.ResolveAsync(HubTestBed.RepoId);
        string byCommit = await offline.ResolveAsync(HubTestBed.RepoId, commit);
        string byDownload = await offline.DownloadAsync(HubTestBed.RepoId);

        string expected = Path.Combine(bed.RepoFolder, "snapshots", commit);
        Assert.Equal([expected, expected, expected], new[] { byBranch, byCommit, byDownload });
        Assert.Equal(requests, bed.Server.AllRequests.Count());
    }

    [Fact]
    public async Task Offline_a_missing_model_fails_saying_how_to_download_it()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        using var offline = bed.Resolver(bed.Options with { Offline = true });

        var error = await Assert.ThrowsAsync<HubException>(() => offline.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.NotInCache, error.Kind);
        Assert.Contains(HubTestBed.RepoId, error.Message, StringComparison.Ordinal);
        Assert.Contains($"olmoe download {HubTestBed.RepoId}", error.Message, StringComparison.Ordinal);
        Assert.Contains("HF_HUB_OFFLINE", error.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Server.AllRequests);
    }

    [Fact]
    public async Task Offline_a_snapshot_missing_a_shard_counts_as_not_cached()
    {
        await using var bed = new HubTestBed();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.ShardedModel());
        using (var online = bed.Resolver()) await online.ResolveAsync(HubTestBed.RepoId);
        File.Delete(Path.Combine(bed.RepoFolder, "snapshots", commit, "model-00002-of-00002.safetensors"));
        using var offline = bed.Resolver(bed.Options with { Offline = true });

        var error = await Assert.ThrowsAsync<HubException>(() => offline.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.NotInCache, error.Kind);
    }

    [LinuxFact] // mkfifo is POSIX.
    public async Task Offline_a_ref_that_is_a_fifo_counts_as_not_cached_without_blocking()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        using (var online = bed.Resolver()) await online.ResolveAsync(HubTestBed.RepoId);
        string reference = Path.Combine(bed.RepoFolder, "refs", "main");
        Fifo.Create(reference);
        using var offline = bed.Resolver(bed.Options with { Offline = true });

        var error = Fifo.Throws<HubException>(reference, TimeSpan.FromSeconds(20), () => offline.ResolveAsync(HubTestBed.RepoId).GetAwaiter().GetResult());

        Assert.Equal(HubErrorKind.NotInCache, error.Kind);
    }
}
