using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

/// <summary>Choosing a repo's GGUF file by its quant tag, on file lists alone.</summary>
public sealed class GgufFilesTests
{
    private static readonly RepoId Repo = new("allenai", "OLMoE-1B-7B-0125-Instruct-GGUF");

    // allenai's spelling, plus the other conventions seen on the hub: upper case, "." before the tag (TheBloke), folders.
    private static readonly string[] Published =
    [
        ".gitattributes",
        "README.md",
        "olmoe-1b-7b-0125-instruct-q4_k.gguf",
        "olmoe-1b-7b-0125-instruct-q4_k_m.gguf",
        "olmoe-1b-7b-0125-instruct-q4_k_s.gguf",
        "OLMoE-1B-7B-0125-Instruct-BF16.gguf",
        "OLMoE-1B-7B-0125-Instruct-F16.gguf",
        "olmoe-1b-7b-0125-instruct.Q8_0.gguf",
        "IQ4_XS/olmoe-1b-7b-0125-instruct-IQ4_XS.gguf",
    ];

    [Theory]
    [InlineData("Q4_K_M", "olmoe-1b-7b-0125-instruct-q4_k_m.gguf")]
    [InlineData("q4_k_m", "olmoe-1b-7b-0125-instruct-q4_k_m.gguf")]
    [InlineData("Q4_k_M", "olmoe-1b-7b-0125-instruct-q4_k_m.gguf")]
    [InlineData("Q4_K", "olmoe-1b-7b-0125-instruct-q4_k.gguf")]
    [InlineData("Q4_K_S", "olmoe-1b-7b-0125-instruct-q4_k_s.gguf")]
    [InlineData("F16", "OLMoE-1B-7B-0125-Instruct-F16.gguf")]
    [InlineData("bf16", "OLMoE-1B-7B-0125-Instruct-BF16.gguf")]
    [InlineData("Q8_0", "olmoe-1b-7b-0125-instruct.Q8_0.gguf")]
    [InlineData("iq4_xs", "IQ4_XS/olmoe-1b-7b-0125-instruct-IQ4_XS.gguf")]
    public void A_tag_picks_the_file_carrying_it_as_a_whole_token_in_any_case(string tag, string expected) =>
        Assert.Equal(expected, GgufFiles.Pick(Published, Repo, tag, "the repo"));

    [Theory]
    [InlineData("Q4_K")] // q4_k_m and q4_k_s carry Q4_K only as a prefix of their tag
    [InlineData("K_M")] // '_' delimits nothing: tags hold it themselves
    [InlineData("Q4")]
    [InlineData("M")]
    public void A_prefix_or_a_piece_of_a_tag_is_no_match(string tag)
    {
        string[] files = ["olmoe-q4_k_m.gguf", "olmoe-q4_k_s.gguf"];

        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(files, Repo, tag, "the repo"));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
    }

    [Fact]
    public void F16_does_not_match_a_bf16_file()
    {
        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(["olmoe-bf16.gguf"], Repo, "F16", "the repo"));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
    }

    [Fact]
    public void No_match_names_the_repo_and_the_tag_and_lists_the_available_tags()
    {
        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(Published, Repo, "Q5_K_M", "the repo"));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
        Assert.Equal("Q5_K_M", error.QuantTag);
        Assert.Equal(Repo.ToString(), error.RepoId);
        Assert.StartsWith($"{Repo}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("'Q5_K_M'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Available tags in the repo: BF16, F16, IQ4_XS, Q4_K, Q4_K_M, Q4_K_S, Q8_0.", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{Repo}:TAG'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_tag_Q4_K_M_is_the_default() =>
        Assert.Equal("olmoe-1b-7b-0125-instruct-q4_k_m.gguf", GgufFiles.Pick(Published, Repo, null, "the repo"));

    [Fact]
    public void Without_a_tag_the_only_model_file_needs_none() =>
        Assert.Equal("OLMoE-F16.gguf", GgufFiles.Pick(["README.md", "mmproj-OLMoE-f16.gguf", "OLMoE-F16.gguf"], Repo, null, "the repo"));

    [Fact]
    public void Without_a_tag_several_models_without_the_default_fail_listing_the_tags()
    {
        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(["olmoe-q8_0.gguf", "olmoe-q4_0.gguf", "olmoe-q6_k.gguf"], Repo, null, "the repo"));

        Assert.Equal(HubErrorKind.Ambiguous, error.Kind);
        Assert.Null(error.QuantTag);
        Assert.Contains("default quant tag Q4_K_M", error.Message, StringComparison.Ordinal);
        Assert.Contains("Available tags in the repo: Q4_0, Q6_K, Q8_0.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_tag_no_gguf_file_at_all_is_entry_not_found()
    {
        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(["README.md", "q4_k_m.bin", "mmproj-f16.gguf"], Repo, null, "the repo"));

        Assert.Equal(HubErrorKind.EntryNotFound, error.Kind);
        Assert.Contains("Available tags in the repo: none.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_projector_is_never_the_model_even_when_it_carries_the_tag() =>
        Assert.Equal("olmoe-F16.gguf", GgufFiles.Pick(["mmproj-olmoe-F16.gguf", "olmoe-F16.gguf"], Repo, "F16", "the repo"));

    [Fact]
    public void A_split_model_is_refused_naming_its_first_part()
    {
        string[] files = ["olmoe-Q4_K_M.gguf", "olmoe-Q8_0-00002-of-00002.gguf", "olmoe-Q8_0-00001-of-00002.gguf"];

        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(files, Repo, "q8_0", "the repo"));

        Assert.Equal(HubErrorKind.Unsupported, error.Kind);
        Assert.Equal("olmoe-Q8_0-00001-of-00002.gguf", error.FileName);
        Assert.Contains("split into parts (2 of them", error.Message, StringComparison.Ordinal);
        Assert.Contains("llama-gguf-split --merge", error.Message, StringComparison.Ordinal);
        Assert.Contains("Available tags in the repo: Q4_K_M, Q8_0 (split, unsupported).", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_tag_a_repo_holding_one_split_model_is_refused()
    {
        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(["m-F16-00001-of-00003.gguf", "m-F16-00002-of-00003.gguf", "m-F16-00003-of-00003.gguf"], Repo, null, "the repo"));

        Assert.Equal(HubErrorKind.Unsupported, error.Kind);
        Assert.Contains("the F16 model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_whole_file_wins_over_split_parts_of_the_same_tag() =>
        Assert.Equal("big/m-Q8_0.gguf", GgufFiles.Pick(["m-Q8_0-00001-of-00002.gguf", "m-Q8_0-00002-of-00002.gguf", "big/m-Q8_0.gguf"], Repo, "Q8_0", "the repo"));

    [Fact]
    public void Two_files_carrying_the_tag_are_ambiguous_and_both_named()
    {
        var error = Assert.Throws<HubException>(() => GgufFiles.Pick(["a/olmoe-Q4_0.gguf", "b/olmoe-Q4_0.gguf"], Repo, "Q4_0", "the repo"));

        Assert.Equal(HubErrorKind.Ambiguous, error.Kind);
        Assert.Contains("a/olmoe-Q4_0.gguf, b/olmoe-Q4_0.gguf", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("olmoe-1b-7b-0125-instruct-q4_k_m.gguf", "Q4_K_M")]
    [InlineData("OLMoE-1B-7B-0125-Instruct.Q8_0.gguf", "Q8_0")]
    [InlineData("sub/model-IQ4_XS-00001-of-00002.gguf", "IQ4_XS")]
    [InlineData("model.gguf", "MODEL")]
    public void The_tag_a_file_offers_is_the_last_token_of_its_name(string path, string tag)
    {
        Assert.Equal(tag, GgufFiles.TagOf(path));
        Assert.True(GgufFiles.CarriesTag(path, tag));
    }
}
