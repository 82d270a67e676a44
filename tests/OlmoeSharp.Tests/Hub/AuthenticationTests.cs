using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

[Collection(HubCollection.Name)]
public sealed class AuthenticationTests
{
    private const string Token = "hf_test_token";

    [Fact]
    public async Task A_private_repo_downloads_with_the_token_which_never_reaches_the_file_host()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        bed.Server.AddRepo(HubTestBed.RepoId, Token).Commit("main", files);
        using var resolver = bed.Resolver(bed.Options with { Token = Token });

        string folder = await resolver.ResolveAsync(HubTestBed.RepoId);

        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.All(bed.Server.Hub.Requests, r => Assert.Equal($"Bearer {Token}", r.Header("Authorization")));
        Assert.NotEmpty(bed.Server.Files.Requests);
        Assert.All(bed.Server.Files.Requests, r => Assert.Null(r.Header("Authorization")));
    }

    [Fact]
    public async Task A_missing_token_is_refused_with_a_hint_to_set_one()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId, Token).Commit("main", HubTestBed.SingleFileModel());
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.Unauthorized, error.Kind);
        Assert.Equal(401, error.StatusCode);
        Assert.Contains(HubTestBed.RepoId, error.Message, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN", error.Message, StringComparison.Ordinal);
        Assert.Contains("no token was sent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_as_rejected()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId, Token).Commit("main", HubTestBed.SingleFileModel());
        using var resolver = bed.Resolver(bed.Options with { Token = "hf_wrong" });

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.Unauthorized, error.Kind);
        Assert.Contains("token was rejected", error.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid credentials", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(bed.RepoFolder, "snapshots")));
    }

    [Fact]
    public async Task An_injected_client_that_follows_redirects_itself_is_refused()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        using var following = new HttpClient();
        using var resolver = new ModelResolver(bed.Options, following);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Contains("AllowAutoRedirect", error.Message, StringComparison.Ordinal);
    }
}
