using System.Text.Json;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>The public sample of the reference (Rust tokenizers) expectations, read from the shared folder.</summary>
public sealed class PublicCasesTests
{
    public static TheoryData<int> EncodeCases => LineNumbers("public-cases.jsonl");

    public static TheoryData<int> DecodeCases => LineNumbers("public-decode-cases.jsonl");

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void Encode_and_decode_match_the_reference(int line)
    {
        using var testCase = Read("public-cases.jsonl", line);
        var root = testCase.RootElement;
        var expectedIds = root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var tokenizer = TokenizerFixture.Tokenizer;

        var ids = tokenizer.Encode(root.GetProperty("text").GetString()!);

        Assert.Equal(expectedIds, ids);
        Assert.Equal(root.GetProperty("decode").GetString(), tokenizer.Decode(expectedIds));
        Assert.Equal(root.GetProperty("decode_skip_special").GetString(), tokenizer.Decode(expectedIds, skipSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void Decode_matches_the_reference(int line)
    {
        using var testCase = Read("public-decode-cases.jsonl", line);
        var root = testCase.RootElement;
        var ids = root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var tokenizer = TokenizerFixture.Tokenizer;

        Assert.Equal(root.GetProperty("decode").GetString(), tokenizer.Decode(ids));
        Assert.Equal(root.GetProperty("decode_skip_special").GetString(), tokenizer.Decode(ids, skipSpecialTokens: true));
    }

    private static TheoryData<int> LineNumbers(string file) => PublicCaseFiles.LineNumbers(file);

    private static JsonDocument Read(string file, int line) => PublicCaseFiles.Read(file, line);
}
