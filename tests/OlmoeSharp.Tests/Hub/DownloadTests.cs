using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

[Collection(HubCollection.Name)]
public sealed class DownloadTests
{
    [Fact]
    public async Task Fresh_download_lays_out_the_cache_like_huggingface_hub()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(Path.Combine(bed.RepoFolder, "snapshots", commit), folder);
        Assert.Equal(commit, File.ReadAllText(Path.Combine(bed.RepoFolder, "refs", "main")));
        foreach (string name in new[] { "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors" })
        {
            // LFS files are named by the content's sha256, small files by their git blob sha1, like huggingface_hub.
            string etag = FakeHub.IsLfs(name) ? FakeHub.Sha256(files[name]) : FakeHub.GitBlobSha1(files[name]);
            var entry = new FileInfo(Path.Combine(folder, name));
            Assert.Equal($"../../blobs/{etag}", entry.LinkTarget);
            Assert.Equal(files[name], File.ReadAllBytes(Path.Combine(bed.RepoFolder, "blobs", etag)));
            Assert.Equal(files[name], File.ReadAllBytes(entry.FullName));
        }
        Assert.False(File.Exists(Path.Combine(folder, "special_tokens_map.json")));
        Assert.False(File.Exists(Path.Combine(folder, "README.md")));
        Assert.Empty(Directory.GetFiles(Path.Combine(bed.RepoFolder, "blobs"), "*.incomplete"));
        Assert.DoesNotContain(bed.Server.AllRequests, r => r.Path.Contains("README", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_lfs_redirect_to_a_path_on_the_hub_itself_keeps_the_hub_headers()
    {
        await using var bed = new HubTestBed(filesOnHubHost: true);
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal($"../../blobs/{FakeHub.Sha256(files["model.safetensors"])}", new FileInfo(Path.Combine(folder, "model.safetensors")).LinkTarget);
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Empty(bed.Server.Files.Requests);
    }

    [Fact]
    public async Task Files_after_the_first_are_asked_for_at_the_pinned_commit()
    {
        await using var bed = new HubTestBed();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        using var resolver = bed.Resolver();

        await resolver.ResolveAsync(HubTestBed.RepoId);

        var heads = bed.Server.Hub.Requests.Where(r => r.Method == "HEAD").Select(r => r.Path).ToList();
        Assert.Equal($"/{HubTestBed.RepoId}/resolve/main/config.json", heads[0]);
        Assert.All(heads.Skip(1), path => Assert.StartsWith($"/{HubTestBed.RepoId}/resolve/{commit}/", path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cached_model_resolves_without_the_network()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        using var resolver = bed.Resolver();
        string first = await resolver.ResolveAsync(HubTestBed.RepoId);
        int requests = bed.Server.AllRequests.Count();

        string second = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(first, second);
        Assert.Equal(requests, bed.Server.AllRequests.Count());
    }

    [Fact]
    public async Task Sharded_model_fetches_the_index_and_every_shard_it_names_once()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.ShardedModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);

        foreach (string name in new[] { "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" })
        {
            Assert.Equal(files[name], File.ReadAllBytes(Path.Combine(folder, name)));
            Assert.Single(bed.Server.ContentRequests(name));
        }
        Assert.DoesNotContain(bed.Server.AllRequests, r => r.Path.EndsWith("/model.safetensors", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Revision_other_than_main_gets_its_own_ref_and_snapshot()
    {
        await using var bed = new HubTestBed();
        var repo = bed.Server.AddRepo(HubTestBed.RepoId);
        repo.Commit("main", HubTestBed.SingleFileModel(seed: 1));
        var v2Files = HubTestBed.SingleFileModel(seed: 2);
        string v2 = repo.Commit("v2", v2Files);
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId, "v2");

        Assert.Equal(Path.Combine(bed.RepoFolder, "snapshots", v2), folder);
        Assert.Equal(v2, File.ReadAllText(Path.Combine(bed.RepoFolder, "refs", "v2")));
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder, "refs", "main")));
        Assert.Equal(v2Files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        // Asked by commit, the snapshot is found without a ref.
        Assert.Equal(folder, await resolver.ResolveAsync(HubTestBed.RepoId, v2));
    }

    [Fact]
    public async Task A_blob_already_in_the_cache_is_linked_not_downloaded_again()
    {
        await using var bed = new HubTestBed();
        var repo = bed.Server.AddRepo(HubTestBed.RepoId);
        var files = HubTestBed.SingleFileModel();
        repo.Commit("main", files);
        using var resolver = bed.Resolver();
        await resolver.ResolveAsync(HubTestBed.RepoId);
        repo.Commit("v2", files);

        string folder = await resolver.DownloadAsync(HubTestBed.RepoId, "v2");

        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Single(bed.Server.ContentRequests("model.safetensors"));
    }

    [Fact]
    public async Task An_existing_folder_wins_without_touching_the_network()
    {
        await using var bed = new HubTestBed();
        using var resolver = bed.Resolver();

        string folder = await resolver.ResolveAsync(bed.Root);

        Assert.Equal(Path.GetFullPath(bed.Root), folder);
        Assert.Empty(bed.Server.AllRequests);
    }

    [Fact]
    public async Task Progress_reports_each_downloaded_file_up_to_its_size()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();
        var reports = new List<DownloadProgress>();

        await resolver.ResolveAsync(HubTestBed.RepoId, progress: new InlineProgress<DownloadProgress>(reports.Add));

        var last = reports.Last(r => r.FileName == "model.safetensors");
        Assert.True(last.IsComplete);
        Assert.Equal(files["model.safetensors"].Length, last.TotalBytes);
        Assert.Contains(reports, r => r.FileName == "config.json" && r.IsComplete);
    }
}
