using System.Text;
using System.Text.Json;
using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

/// <summary><c>org/name:QUANT</c> and repos of GGUF files only, against the fake hub: which file, which requests, which cache entries.</summary>
[Collection(HubCollection.Name)]
public sealed class GgufRepoTests
{
    private const string Q4KM = HubTestBed.Q4KM;
    private const string TaggedRepo = HubTestBed.RepoId + ":Q4_K_M";
    private const int CutAt = 100_000;

    [Fact]
    public async Task A_quant_tag_downloads_only_that_gguf_file_into_the_cache_layout()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string path = await resolver.ResolveAsync(TaggedRepo);

        string snapshot = Path.Combine(bed.RepoFolder, "snapshots", commit);
        Assert.Equal(Path.Combine(snapshot, Q4KM), path);
        string sha = FakeHub.Sha256(files[Q4KM]);
        Assert.Equal($"../../blobs/{sha}", new FileInfo(path).LinkTarget);
        Assert.Equal(files[Q4KM], File.ReadAllBytes(path));
        Assert.Equal(commit, File.ReadAllText(Path.Combine(bed.RepoFolder, "refs", "main")));
        // Nothing but the chosen file, in the snapshot, in the blobs and on the wire.
        Assert.Equal([path], Directory.GetFileSystemEntries(snapshot, "*", SearchOption.AllDirectories));
        Assert.Equal([Path.Combine(bed.RepoFolder, "blobs", sha)], Directory.GetFiles(Path.Combine(bed.RepoFolder, "blobs")));
        var hubRequests = bed.Server.Hub.Requests.Select(r => $"{r.Method} {r.Path}").ToList();
        Assert.Equal([$"GET /api/models/{HubTestBed.RepoId}/revision/main", $"HEAD /{HubTestBed.RepoId}/resolve/{commit}/{Q4KM}"], hubRequests);
        Assert.Single(bed.Server.ContentRequests(Q4KM));
        Assert.Single(bed.Server.Files.Requests);
    }

    [Fact]
    public async Task A_model_loads_from_a_quant_tag_and_computes_what_the_local_file_computes()
    {
        await using var bed = new HubTestBed();
        string local = SharedData.Path("golden", "gguf", "small-k-q4_k_m", "model.gguf");
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", new Dictionary<string, byte[]>
        {
            ["README.md"] = Encoding.UTF8.GetBytes("# test"),
            ["olmoe-small-q4_k_m.gguf"] = File.ReadAllBytes(local),
            ["olmoe-small-q8_0.gguf"] = File.ReadAllBytes(SharedData.Path("golden", "gguf", "small-k-q8_0", "model.gguf")),
        });

        using var fromHub = await OlmoeModel.LoadAsync(TaggedRepo, new ModelLoadOptions { Hub = bed.Options, Threads = 1 });
        using var fromFile = OlmoeModel.Load(local, new ModelLoadOptions { Threads = 1 });

        Assert.EndsWith("olmoe-small-q4_k_m.gguf", fromHub.Directory, StringComparison.Ordinal);
        Assert.NotNull(fromHub.Tokenizer);
        int[] tokens = [50279, 1, 9252];
        var a = new float[fromHub.Config.VocabSize];
        var b = new float[fromFile.Config.VocabSize];
        fromHub.CreateSession().Evaluate(tokens, a);
        fromFile.CreateSession().Evaluate(tokens, b);
        Assert.Equal(b, a);
        Assert.Empty(bed.Server.ContentRequests("olmoe-small-q8_0.gguf"));
    }

    [Theory]
    [InlineData("q4_k_m", HubTestBed.Q4KM)]
    [InlineData("Q4_K_S", "olmoe-1b-7b-0125-instruct-q4_k_s.gguf")]
    [InlineData("Q8_0", "olmoe-1b-7b-0125-instruct-q8_0.gguf")]
    public async Task The_tag_picks_its_file_whatever_its_case(string tag, string expected)
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string path = await resolver.ResolveAsync($"{HubTestBed.RepoId}:{tag}");

        Assert.Equal(expected, Path.GetFileName(path));
        Assert.Equal(files[expected], File.ReadAllBytes(path));
    }

    [Fact]
    public async Task Without_a_tag_a_repo_of_gguf_files_only_gets_Q4_K_M()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string path = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(Path.Combine(bed.RepoFolder, "snapshots", commit, Q4KM), path);
        Assert.Equal(files[Q4KM], File.ReadAllBytes(path));
        // config.json is asked for first, as for any repo; its absence leads to the file list.
        var hubRequests = bed.Server.Hub.Requests.Select(r => $"{r.Method} {r.Path}").ToList();
        Assert.Equal(
            [
                $"HEAD /{HubTestBed.RepoId}/resolve/main/config.json",
                $"GET /api/models/{HubTestBed.RepoId}/revision/main",
                $"HEAD /{HubTestBed.RepoId}/resolve/{commit}/{Q4KM}",
            ],
            hubRequests);
    }

    [Fact]
    public async Task Without_a_tag_a_repo_of_one_gguf_file_gets_it()
    {
        await using var bed = new HubTestBed();
        var model = HubTestBed.RandomBytes(32 * 1024, 5);
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", new Dictionary<string, byte[]> { ["README.md"] = [1], ["OLMoE-F16.gguf"] = model });
        using var resolver = bed.Resolver();

        string path = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal("OLMoE-F16.gguf", Path.GetFileName(path));
        Assert.Equal(model, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task A_tag_no_file_carries_fails_naming_the_repo_the_tag_and_the_available_tags()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.GgufModelRepo());
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync($"{HubTestBed.RepoId}:Q4_K"));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
        Assert.Equal(HubTestBed.RepoId, error.RepoId);
        Assert.Equal("Q4_K", error.QuantTag);
        Assert.Contains("'Q4_K'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Available tags in the repo: Q4_K_M, Q4_K_S, Q8_0.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(bed.Server.AllRequests, r => r.Path.Contains(".gguf", StringComparison.Ordinal) || r.Path.StartsWith("/files/", StringComparison.Ordinal));
        Assert.False(Directory.Exists(bed.RepoFolder));
    }

    [Fact]
    public async Task A_split_gguf_is_refused_before_any_download()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        files["olmoe-q6_k-00001-of-00002.gguf"] = HubTestBed.RandomBytes(1024, 21);
        files["olmoe-q6_k-00002-of-00002.gguf"] = HubTestBed.RandomBytes(1024, 22);
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync($"{HubTestBed.RepoId}:Q6_K"));

        Assert.Equal(HubErrorKind.Unsupported, error.Kind);
        Assert.Equal("olmoe-q6_k-00001-of-00002.gguf", error.FileName);
        Assert.Contains("split", error.Message, StringComparison.Ordinal);
        Assert.Contains("Q6_K (split, unsupported)", error.Message, StringComparison.Ordinal);
        Assert.Single(bed.Server.AllRequests);
        Assert.False(Directory.Exists(bed.RepoFolder));
    }

    [Fact]
    public async Task A_cached_gguf_resolves_without_any_request_online_and_offline()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.GgufModelRepo());
        using var resolver = bed.Resolver();
        string first = await resolver.ResolveAsync(TaggedRepo);
        int requests = bed.Server.AllRequests.Count();
        // An endpoint nobody listens on: any attempt to use the network would fail.
        using var offline = bed.Resolver(bed.Options with { Offline = true, Endpoint = new Uri("http://127.0.0.1:9/") });

        string again = await resolver.ResolveAsync($"{HubTestBed.RepoId}:q4_k_m");
        string offlineTagged = await offline.ResolveAsync(TaggedRepo);
        string offlineDefault = await offline.ResolveAsync(HubTestBed.RepoId);
        string offlineDownload = await offline.DownloadAsync(TaggedRepo);

        Assert.Equal([first, first, first, first], new[] { again, offlineTagged, offlineDefault, offlineDownload });
        Assert.Equal(requests, bed.Server.AllRequests.Count());
    }

    [Fact]
    public async Task Offline_a_quant_the_cache_lacks_is_not_in_cache_naming_what_the_cache_holds()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.GgufModelRepo());
        using (var online = bed.Resolver()) await online.ResolveAsync(TaggedRepo);
        int requests = bed.Server.AllRequests.Count();
        using var offline = bed.Resolver(bed.Options with { Offline = true });

        var error = await Assert.ThrowsAsync<HubException>(() => offline.ResolveAsync($"{HubTestBed.RepoId}:Q8_0"));

        Assert.Equal(HubErrorKind.NotInCache, error.Kind);
        Assert.Equal("Q8_0", error.QuantTag);
        Assert.Contains("'Q8_0'", error.Message, StringComparison.Ordinal);
        Assert.Contains("HF_HUB_OFFLINE", error.Message, StringComparison.Ordinal);
        Assert.Contains($"olmoe download {HubTestBed.RepoId}:Q8_0", error.Message, StringComparison.Ordinal);
        Assert.Contains("Available tags in the cached snapshot: Q4_K_M.", error.Message, StringComparison.Ordinal);
        Assert.Equal(requests, bed.Server.AllRequests.Count());
    }

    [Fact]
    public async Task Online_a_quant_the_cached_snapshot_lacks_is_downloaded_beside_the_one_it_has()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();
        string q4 = await resolver.ResolveAsync(TaggedRepo);

        string q8 = await resolver.ResolveAsync($"{HubTestBed.RepoId}:Q8_0");

        Assert.Equal(Path.Combine(bed.RepoFolder, "snapshots", commit, "olmoe-1b-7b-0125-instruct-q8_0.gguf"), q8);
        Assert.Equal(files["olmoe-1b-7b-0125-instruct-q8_0.gguf"], File.ReadAllBytes(q8));
        Assert.True(File.Exists(q4));
        Assert.Single(bed.Server.ContentRequests(Q4KM));
    }

    [Fact]
    public async Task A_failed_gguf_download_keeps_the_partial_file_and_the_next_call_resumes_it()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Q4KM, FaultKind.Cut, CutAt);
        using var noRetry = bed.Resolver(bed.Options with { MaxRetries = 0 });

        var error = await Assert.ThrowsAsync<HubException>(() => noRetry.ResolveAsync(TaggedRepo));

        Assert.Equal(HubErrorKind.Network, error.Kind);
        Assert.Equal(Q4KM, error.FileName);
        string partial = Path.Combine(bed.RepoFolder, "blobs", FakeHub.Sha256(files[Q4KM]) + ".incomplete");
        Assert.Equal(CutAt, new FileInfo(partial).Length);
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder, "refs", "main")));

        string path = await noRetry.ResolveAsync(TaggedRepo);

        Assert.Equal(files[Q4KM], File.ReadAllBytes(path));
        var gets = bed.Server.ContentRequests(Q4KM);
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Header("Range"));
        Assert.Equal($"bytes={CutAt}-", gets[1].Header("Range"));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task A_cut_gguf_download_is_resumed_in_the_same_call()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        bed.Server.Inject(Q4KM, FaultKind.Cut, CutAt);
        using var resolver = bed.Resolver();

        string path = await resolver.ResolveAsync(TaggedRepo);

        Assert.Equal(files[Q4KM], File.ReadAllBytes(path));
        Assert.Equal($"bytes={CutAt}-", bed.Server.ContentRequests(Q4KM)[^1].Header("Range"));
    }

    [Fact]
    public async Task A_gguf_in_a_folder_is_fetched_by_its_path_and_linked_into_the_same_folder()
    {
        await using var bed = new HubTestBed();
        const string Nested = "Q4_K_M/OLMoE-1B-7B-Q4_K_M.gguf";
        var model = HubTestBed.RandomBytes(16 * 1024, 31);
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", new Dictionary<string, byte[]> { [Nested] = model, ["Q8_0/OLMoE-1B-7B-Q8_0.gguf"] = [2] });
        using var resolver = bed.Resolver();

        string path = await resolver.ResolveAsync(TaggedRepo);

        Assert.Equal(Path.Combine(bed.RepoFolder, "snapshots", commit, "Q4_K_M", "OLMoE-1B-7B-Q4_K_M.gguf"), path);
        Assert.Equal($"../../../blobs/{FakeHub.Sha256(model)}", new FileInfo(path).LinkTarget);
        Assert.Equal(model, File.ReadAllBytes(path));
        Assert.Contains(bed.Server.Hub.Requests, r => r.Method == "HEAD" && r.Path == $"/{HubTestBed.RepoId}/resolve/{commit}/{Nested}");
    }

    [Theory]
    [InlineData("../evil-Q4_K_M.gguf")]
    [InlineData("../../../../evil-Q4_K_M.gguf")]
    [InlineData("/tmp/evil-Q4_K_M.gguf")]
    [InlineData("sub/../../evil-Q4_K_M.gguf")]
    [InlineData("..\\evil-Q4_K_M.gguf")]
    [InlineData("C:evil-Q4_K_M.gguf")]
    public async Task A_gguf_name_that_could_leave_the_snapshot_is_refused_before_any_request_for_it(string name)
    {
        await using var bed = new HubTestBed();
        var repo = bed.Server.AddRepo(HubTestBed.RepoId);
        string commit = repo.Commit("main", HubTestBed.GgufModelRepo());
        repo.ListingOverride = JsonSerializer.SerializeToUtf8Bytes(new { sha = commit, siblings = new[] { new { rfilename = Q4KM }, new { rfilename = name } } });
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(TaggedRepo));

        Assert.Equal(HubErrorKind.InvalidResponse, error.Kind);
        Assert.Equal(name, error.FileName);
        Assert.Single(bed.Server.AllRequests);
        Assert.Empty(Directory.GetFileSystemEntries(bed.Root, "*evil*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"siblings":[]}""")]
    [InlineData("""{"sha":"main","siblings":[]}""")]
    [InlineData("""{"sha":"COMMIT"}""")]
    [InlineData("""{"sha":"COMMIT","siblings":[{"name":"a.gguf"}]}""")]
    [InlineData("""{"sha":"COMMIT","siblings":[{"rfilename":7}]}""")]
    public async Task A_malformed_file_list_is_an_invalid_response(string body)
    {
        await using var bed = new HubTestBed();
        var repo = bed.Server.AddRepo(HubTestBed.RepoId);
        string commit = repo.Commit("main", HubTestBed.GgufModelRepo());
        repo.ListingOverride = Encoding.UTF8.GetBytes(body.Replace("COMMIT", commit, StringComparison.Ordinal));
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(TaggedRepo));

        Assert.Equal(HubErrorKind.InvalidResponse, error.Kind);
        Assert.Contains("file list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_repo_with_neither_config_json_nor_gguf_files_is_entry_not_found_for_config_json()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", new Dictionary<string, byte[]> { ["README.md"] = [1] });
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
        Assert.Equal("config.json", error.FileName);
        Assert.Contains(".gguf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_file_list_of_a_private_repo_is_asked_for_with_the_token()
    {
        const string Token = "hf_test_token";
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId, Token).Commit("main", HubTestBed.GgufModelRepo());
        using var withToken = bed.Resolver(bed.Options with { Token = Token });
        using var withoutToken = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => withoutToken.ResolveAsync(TaggedRepo));
        string path = await withToken.ResolveAsync(TaggedRepo);

        Assert.Equal(HubErrorKind.Unauthorized, error.Kind);
        Assert.True(File.Exists(path));
        Assert.Equal(2, bed.Server.ListingRequests(HubTestBed.RepoId).Count);
        Assert.Equal($"Bearer {Token}", bed.Server.ListingRequests(HubTestBed.RepoId)[^1].Header("Authorization"));
        Assert.All(bed.Server.Files.Requests, r => Assert.Null(r.Header("Authorization")));
    }

    [Fact]
    public async Task Download_of_a_quant_tag_asks_the_hub_each_time_and_fetches_the_file_once()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.GgufModelRepo();
        string commit = bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        string first = await resolver.DownloadAsync(TaggedRepo);
        string second = await resolver.DownloadAsync(TaggedRepo);

        Assert.Equal(Path.Combine(bed.RepoFolder, "snapshots", commit, Q4KM), first);
        Assert.Equal(first, second);
        Assert.Equal(2, bed.Server.ListingRequests(HubTestBed.RepoId).Count);
        Assert.Single(bed.Server.ContentRequests(Q4KM));
    }

    [Fact]
    public async Task A_unknown_revision_of_a_tagged_repo_is_revision_not_found()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.GgufModelRepo());
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(TaggedRepo, "v9"));

        Assert.Equal(HubErrorKind.RevisionNotFound, error.Kind);
        Assert.Contains("'v9'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_existing_path_wins_over_a_repo_reference_of_the_same_spelling(bool isFile)
    {
        await using var bed = new HubTestBed();
        // Relative to the working directory, spelled as a repo reference with a tag; the repo exists on the hub too.
        string org = $"hub-test-{Guid.NewGuid():N}";
        string relative = $"{org}/model:Q4_K_M";
        bed.Server.AddRepo($"{org}/model").Commit("main", HubTestBed.GgufModelRepo());
        Directory.CreateDirectory(org);
        try
        {
            if (isFile) File.WriteAllBytes(relative, [1, 2, 3]);
            else Directory.CreateDirectory(relative);
            using var resolver = bed.Resolver();

            string path = await resolver.ResolveAsync(relative);

            Assert.Equal(Path.GetFullPath(relative), path);
            Assert.Empty(bed.Server.AllRequests);
        }
        finally
        {
            Directory.Delete(org, recursive: true);
        }
    }

    [Theory]
    [InlineData(@"C:\models\olmoe-q4_k_m.gguf")]
    [InlineData("C:/models/olmoe-q4_k_m.gguf")]
    [InlineData("./models/olmoe:Q4_K_M")]
    [InlineData("org/name:")]
    [InlineData("org/name:Q4/K_M")]
    public async Task A_colon_in_what_is_no_repo_reference_is_an_invalid_reference_without_requests(string text)
    {
        await using var bed = new HubTestBed();
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(text));

        Assert.Equal(HubErrorKind.InvalidReference, error.Kind);
        Assert.Empty(bed.Server.AllRequests);
    }
}
