using System.Security.Cryptography;
using OlmoeSharp.Hub;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Hub;

/// <summary>The hub client against <see cref="FakeHub"/> on 127.0.0.1; nothing here touches the internet.</summary>
public sealed class HubClientTests : IDisposable
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private readonly FakeHub _hub = new();
    private readonly TempDirectory _cache = new();

    public void Dispose()
    {
        _hub.Dispose();
        _cache.Dispose();
    }

    private HubOptions Options(string? token = null, bool offline = false) =>
        new() { Endpoint = _hub.HubUri, CacheDirectory = _cache.Path, Token = token, Offline = offline };

    /// <summary>A tiny random checkpoint's files, as a repository would hold them.</summary>
    private static Dictionary<string, byte[]> CheckpointFiles(int shards)
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, RandomCheckpoint.Tiny with { VocabSize = 512, EosTokenIds = [511] }, new RandomCheckpointOptions { Shards = shards, Seed = 3 });
        return Directory.GetFiles(dir.Path).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
    }

    private async Task<string> Resolve(string repo, HubOptions options, string? revision = null)
    {
        using var client = new HubClient(options);
        return await client.ResolveAsync(repo, revision);
    }

    [Fact]
    public async Task A_fresh_download_builds_the_huggingface_hub_cache_layout_and_loads()
    {
        var files = CheckpointFiles(1);
        _hub.Repos["org/tiny"] = new FakeHub.Repo(Commit, files);
        string snapshot = await Resolve("org/tiny", Options());

        string root = Path.Combine(_cache.Path, "models--org--tiny");
        Assert.Equal(Path.Combine(root, "snapshots", Commit), snapshot);
        Assert.Equal(Commit, File.ReadAllText(Path.Combine(root, "refs", "main")));
        var weights = new FileInfo(Path.Combine(snapshot, "model.safetensors"));
        Assert.Equal(Path.Combine("..", "..", "blobs", Convert.ToHexStringLower(SHA256.HashData(files["model.safetensors"]))), weights.LinkTarget);
        Assert.Equal(files["config.json"], File.ReadAllBytes(Path.Combine(snapshot, "config.json")));
        Assert.Empty(Directory.GetFiles(Path.Combine(root, "blobs"), "*.incomplete"));

        using var model = await OlmoeModel.LoadAsync("org/tiny", new ModelLoadOptions { Hub = Options() });
        Assert.Equal(512, model.Config.VocabSize);
    }

    [Fact]
    public async Task A_sharded_repository_fetches_the_index_and_every_shard_it_names()
    {
        _hub.Repos["org/sharded"] = new FakeHub.Repo(Commit, CheckpointFiles(3));
        string snapshot = await Resolve("org/sharded", Options());
        Assert.Equal(3, Directory.GetFiles(snapshot, "model-*-of-00003.safetensors").Length);
        using var model = OlmoeModel.Load(snapshot);
        Assert.Equal(2, model.Config.NumHiddenLayers);
    }

    [Fact]
    public async Task An_interrupted_download_resumes_with_a_range_request()
    {
        var files = CheckpointFiles(1);
        _hub.Repos["org/resume"] = new FakeHub.Repo(Commit, files);
        _hub.CutOnce = ("model.safetensors", 100_000);
        var error = await Assert.ThrowsAsync<HubException>(() => Resolve("org/resume", Options()));
        Assert.Equal(HubErrorKind.Network, error.Kind);
        string partial = Assert.Single(Directory.GetFiles(Path.Combine(_cache.Path, "models--org--resume", "blobs"), "*.incomplete"));
        long kept = new FileInfo(partial).Length;
        Assert.True(kept > 0);

        string snapshot = await Resolve("org/resume", Options());
        Assert.Contains(_hub.Requests, r => r.Path.StartsWith("/blob/", StringComparison.Ordinal) && r.Range == $"bytes={kept}-");
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(snapshot, "model.safetensors")));
    }

    [Fact]
    public async Task Corrupted_bytes_are_refused_and_nothing_enters_the_snapshot()
    {
        _hub.Repos["org/corrupt"] = new FakeHub.Repo(Commit, CheckpointFiles(1));
        _hub.CorruptSuffix = "model.safetensors";
        var error = await Assert.ThrowsAsync<HubException>(() => Resolve("org/corrupt", Options()));
        Assert.Equal(HubErrorKind.ChecksumMismatch, error.Kind);
        Assert.Contains("org/corrupt/model.safetensors", error.Message);
        Assert.False(File.Exists(Path.Combine(_cache.Path, "models--org--corrupt", "snapshots", Commit, "model.safetensors")));
        Assert.Empty(Directory.GetFiles(Path.Combine(_cache.Path, "models--org--corrupt", "blobs"), "*.incomplete"));
    }

    [Fact]
    public async Task A_private_repository_needs_the_right_token_which_never_reaches_the_file_host()
    {
        _hub.Repos["org/private"] = new FakeHub.Repo(Commit, CheckpointFiles(1), Token: "secret");
        Assert.Equal(HubErrorKind.RepositoryNotFound, (await Assert.ThrowsAsync<HubException>(() => Resolve("org/private", Options()))).Kind);
        Assert.Equal(HubErrorKind.Unauthorized, (await Assert.ThrowsAsync<HubException>(() => Resolve("org/private", Options("wrong")))).Kind);
        await Resolve("org/private", Options("secret"));
        Assert.Contains(_hub.Requests, r => r.Path.Contains("/resolve/", StringComparison.Ordinal) && r.Authorization == "Bearer secret");
        Assert.All(_hub.Requests.Where(r => r.Path.StartsWith("/blob/", StringComparison.Ordinal)), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task Offline_loads_come_from_the_cache_or_fail_clearly()
    {
        _hub.Repos["org/cached"] = new FakeHub.Repo(Commit, CheckpointFiles(1));
        var missing = await Assert.ThrowsAsync<HubException>(() => Resolve("org/cached", Options(offline: true)));
        Assert.Equal(HubErrorKind.NotInCache, missing.Kind);
        Assert.Empty(_hub.Requests);

        string online = await Resolve("org/cached", Options());
        int requests = _hub.Requests.Count;
        Assert.Equal(online, await Resolve("org/cached", Options(offline: true)));
        Assert.Equal(requests, _hub.Requests.Count);
    }

    [Fact]
    public async Task A_named_revision_gets_its_own_ref()
    {
        const string other = "fedcba9876543210fedcba9876543210fedcba98";
        _hub.Repos["org/revs"] = new FakeHub.Repo(Commit, CheckpointFiles(1), Revisions: new() { ["v1"] = other });
        string snapshot = await Resolve("org/revs", Options(), "v1");
        Assert.EndsWith(other, snapshot);
        Assert.Equal(other, File.ReadAllText(Path.Combine(_cache.Path, "models--org--revs", "refs", "v1")));
        Assert.Equal(HubErrorKind.RevisionNotFound, (await Assert.ThrowsAsync<HubException>(() => Resolve("org/revs", Options(), "nope"))).Kind);
    }

    [Theory]
    [InlineData("../evil.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/dir.safetensors")]
    public async Task Shard_names_that_leave_the_snapshot_are_refused(string shard)
    {
        var files = CheckpointFiles(1);
        files["model.safetensors.index.json"] = System.Text.Encoding.UTF8.GetBytes(
            $"{{\"weight_map\": {{\"model.embed_tokens.weight\": \"{shard}\"}}}}");
        _hub.Repos["org/hostile"] = new FakeHub.Repo(Commit, files);
        var error = await Assert.ThrowsAsync<HubException>(() => Resolve("org/hostile", Options()));
        Assert.Equal(HubErrorKind.InvalidRepository, error.Kind);
        Assert.False(File.Exists(Path.Combine(_cache.Path, "evil.safetensors")));
    }

    [Fact]
    public async Task Unknown_repositories_and_missing_files_are_named()
    {
        var unknown = await Assert.ThrowsAsync<HubException>(() => Resolve("org/nothing", Options()));
        Assert.Equal(HubErrorKind.RepositoryNotFound, unknown.Kind);
        Assert.Contains("org/nothing", unknown.Message);

        var files = CheckpointFiles(1);
        files.Remove("model.safetensors");
        _hub.Repos["org/noweights"] = new FakeHub.Repo(Commit, files);
        var noWeights = await Assert.ThrowsAsync<HubException>(() => Resolve("org/noweights", Options()));
        Assert.Equal(HubErrorKind.FileNotFound, noWeights.Kind);
        Assert.Contains("model.safetensors", noWeights.Message);
    }

    [Fact]
    public async Task An_unreachable_hub_is_a_network_error()
    {
        var options = Options() with { Endpoint = new Uri("http://127.0.0.1:9/") };
        Assert.Equal(HubErrorKind.Network, (await Assert.ThrowsAsync<HubException>(() => Resolve("org/any", options))).Kind);
    }
}
