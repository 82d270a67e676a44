using System.Net;
using OlmoeSharp.Hub;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Hub;

public sealed class HubInternalsTests
{
    private const string Sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private static readonly Uri Url = new("http://127.0.0.1/org/name/resolve/main/f");

    [Theory]
    [InlineData("allenai/OLMoE-1B-7B-0924-Instruct", true)]
    [InlineData("a/b", true)]
    [InlineData("org_1/name.v2", true)]
    [InlineData("name-only", false)]
    [InlineData("a/b/c", false)]
    [InlineData("./b", false)]
    [InlineData("a/..", false)]
    [InlineData("a/-b", false)]
    [InlineData("a/b.git", false)]
    [InlineData("a/b c", false)]
    public void Repo_ids_follow_huggingface_hubs_rules(string text, bool valid) =>
        Assert.Equal(valid, RepoId.TryParse(text, out _));

    [Theory]
    [InlineData("allenai/OLMoE-1B-7B-0125-Instruct-GGUF:Q4_K_M", "allenai/OLMoE-1B-7B-0125-Instruct-GGUF", "Q4_K_M")]
    [InlineData("org/name:q8_0", "org/name", "q8_0")]
    [InlineData("unsloth/m-GGUF:UD-Q4_K_XL", "unsloth/m-GGUF", "UD-Q4_K_XL")]
    [InlineData("org/name", "org/name", null)]
    public void A_repo_reference_is_a_repo_id_and_perhaps_a_quant_tag(string text, string repo, string? tag)
    {
        Assert.True(RepoReference.TryParse(text, out var reference, out string? problem));
        Assert.Null(problem);
        Assert.Equal(repo, reference.Repo.ToString());
        Assert.Equal(tag, reference.QuantTag);
        Assert.Equal(text, reference.ToString());
    }

    [Theory]
    [InlineData(@"C:\models\olmoe-q4_k_m.gguf")]
    [InlineData("C:/models/olmoe.gguf")]
    [InlineData("./models/olmoe:Q4_K_M")]
    [InlineData("/abs/org/name:Q4_K_M")]
    [InlineData("name-only:Q4_K_M")]
    [InlineData("org/name/extra:Q4_K_M")]
    public void A_colon_after_anything_but_a_repo_id_makes_no_repo_reference(string text)
    {
        Assert.False(RepoReference.TryParse(text, out _, out string? problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("org/name:")]
    [InlineData("org/name:Q4/K")]
    [InlineData("org/name:Q4:K")]
    [InlineData("org/name:-Q4")]
    [InlineData("org/name:Q4 K")]
    public void A_repo_id_with_a_malformed_tag_says_what_is_wrong_with_the_tag(string text)
    {
        Assert.False(RepoReference.TryParse(text, out _, out string? problem));
        Assert.Contains("quant tag", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("olmoe-q4_k_m.gguf", true)]
    [InlineData("Q4_K_M/olmoe-q4_k_m.gguf", true)]
    [InlineData("../evil.gguf", false)]
    [InlineData("a/../../evil.gguf", false)]
    [InlineData("/tmp/evil.gguf", false)]
    [InlineData("a//b.gguf", false)]
    [InlineData("a\\b.gguf", false)]
    [InlineData("C:evil.gguf", false)]
    [InlineData("./a.gguf", false)]
    [InlineData("a\u0000.gguf", false)]
    [InlineData("", false)]
    public void Repo_file_paths_from_the_network_must_stay_inside_the_snapshot(string path, bool safe) =>
        Assert.Equal(safe, RepoFilePath.IsSafe(path));

    [Fact]
    public void Repo_file_paths_are_escaped_per_segment_keeping_their_slashes() =>
        Assert.Equal("Q4_K_M/a%20b%23.gguf", RepoFilePath.Escape("Q4_K_M/a b#.gguf"));

    [Theory]
    [InlineData("main", true)]
    [InlineData("v1.0", true)]
    [InlineData("refs/pr/1", true)]
    [InlineData("../x", false)]
    [InlineData("/abs", false)]
    [InlineData("a//b", false)]
    [InlineData(".hidden", false)]
    [InlineData("a\\b", false)]
    [InlineData("", false)]
    public void Revisions_follow_git_ref_rules(string revision, bool valid) =>
        Assert.Equal(valid, Revision.IsValid(revision));

    [Theory]
    [InlineData($"W/\"{Sha256}\"", Sha256)]
    [InlineData($"\"{Sha256}\"", Sha256)]
    [InlineData(Sha256, Sha256)]
    public void Etags_lose_quotes_and_weak_prefix(string header, string expected)
    {
        using var response = Response(HttpStatusCode.OK, ("ETag", header));
        response.Content.Headers.ContentLength = 5;

        var metadata = FileMetadata.Read(response, Url, new RepoId("org", "name"), "f");

        Assert.Equal(expected, metadata.Etag);
        Assert.True(metadata.EtagIsSha256);
        Assert.Equal(5, metadata.Size);
    }

    [Fact]
    public void The_linked_etag_and_size_of_an_lfs_redirect_win()
    {
        using var response = Response(HttpStatusCode.Found, ("ETag", "\"aaaa\""), ("X-Linked-Etag", $"\"{Sha256}\""), ("X-Linked-Size", "123"), ("Location", "http://files.local/blob"));

        var metadata = FileMetadata.Read(response, Url, new RepoId("org", "name"), "f");

        Assert.Equal(Sha256, metadata.Etag);
        Assert.Equal(123, metadata.Size);
        Assert.Equal(new Uri("http://files.local/blob"), metadata.Location);
    }

    [Theory]
    [InlineData("\"../../escape\"")]
    [InlineData(null)]
    public void An_etag_unfit_for_a_file_name_is_an_invalid_response(string? etag)
    {
        using var response = etag is null ? Response(HttpStatusCode.OK) : Response(HttpStatusCode.OK, ("ETag", etag));
        response.Content.Headers.ContentLength = 5;

        var error = Assert.Throws<HubException>(() => FileMetadata.Read(response, Url, new RepoId("org", "name"), "f"));

        Assert.Equal(HubErrorKind.InvalidResponse, error.Kind);
    }

    [LinuxFact(Requires = "/dev/full")] // The Windows codes are constants.
    public void A_real_disk_full_error_is_recognized()
    {
        try
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);
            full.Write(new byte[16]);
            full.Flush();
            Assert.Fail("/dev/full accepted the write");
        }
        catch (IOException e)
        {
            var error = StorageErrors.Translate(e, new RepoId("org", "name"), "f", "/cache");
            Assert.Equal(HubErrorKind.DiskFull, error?.Kind);
        }
    }

    private static HttpResponseMessage Response(HttpStatusCode status, params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage(status) { Content = new ByteArrayContent([]) };
        response.Headers.TryAddWithoutValidation("X-Repo-Commit", Commit);
        foreach (var (name, value) in headers) response.Headers.TryAddWithoutValidation(name, value);
        return response;
    }
}
