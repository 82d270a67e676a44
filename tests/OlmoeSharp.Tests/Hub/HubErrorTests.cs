using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

[Collection(HubCollection.Name)]
public sealed class HubErrorTests
{
    [Fact]
    public async Task An_unknown_repo_is_repo_not_found()
    {
        await using var bed = new HubTestBed();
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync("allenai/no-such-model"));

        Assert.Equal(HubErrorKind.RepoNotFound, error.Kind);
        Assert.Equal("allenai/no-such-model", error.RepoId);
    }

    [Fact]
    public async Task An_unknown_revision_is_revision_not_found()
    {
        await using var bed = new HubTestBed();
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", HubTestBed.SingleFileModel());
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId, "v9"));

        Assert.Equal(HubErrorKind.RevisionNotFound, error.Kind);
        Assert.Contains("'v9'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_required_file_is_entry_not_found_naming_the_file()
    {
        await using var bed = new HubTestBed();
        var files = HubTestBed.SingleFileModel();
        files.Remove("tokenizer.json");
        bed.Server.AddRepo(HubTestBed.RepoId).Commit("main", files);
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(HubTestBed.RepoId));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
        Assert.Equal("tokenizer.json", error.FileName);
        Assert.Contains($"{HubTestBed.RepoId}, file 'tokenizer.json'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-slash-and-no-folder", null)]
    [InlineData("../escape/attempt", null)]
    [InlineData("org/name/extra", null)]
    [InlineData("org--x/name", null)]
    [InlineData(HubTestBed.RepoId, "../../outside")]
    [InlineData(HubTestBed.RepoId, "bad:rev")]
    public async Task Neither_folder_nor_repo_id_nor_valid_revision_is_an_invalid_reference(string text, string? revision)
    {
        await using var bed = new HubTestBed();
        using var resolver = bed.Resolver();

        var error = await Assert.ThrowsAsync<HubException>(() => resolver.ResolveAsync(text, revision));

        Assert.Equal(HubErrorKind.InvalidReference, error.Kind);
        Assert.Empty(bed.Server.AllRequests);
    }
}
