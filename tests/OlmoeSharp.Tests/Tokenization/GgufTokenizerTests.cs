using System.Text.Json;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>
/// The tokenizer a GGUF file carries (the golden files were written by llama.cpp from the real OLMoE tokenizer)
/// against tokenizer.json: the same ids on every public case, the same decodes, the same special tokens.
/// </summary>
public sealed class GgufTokenizerTests
{
    private static readonly Lazy<OlmoeTokenizer> FromGguf =
        new(() => OlmoeTokenizer.Load(SharedData.Path("golden", "gguf", "small-k-q8_0", "model.gguf")));

    public static TheoryData<string> Folders() => new("small-k-q8_0", "small-k-q4_0", "small-k-q4_k_m");

    [Fact]
    public void Encodes_every_public_case_as_tokenizer_json_does()
    {
        var json = TokenizerFixture.Tokenizer;
        var gguf = FromGguf.Value;
        int cases = 0;
        foreach (string line in File.ReadLines(SharedData.Path("tokenizers", "public-cases.jsonl")))
        {
            using var testCase = JsonDocument.Parse(line);
            string text = testCase.RootElement.GetProperty("text").GetString()!;
            var ids = gguf.Encode(text).ToArray();
            Assert.Equal(json.Encode(text), ids);
            Assert.Equal(json.Decode(ids), gguf.Decode(ids));
            Assert.Equal(json.Decode(ids, skipSpecialTokens: true), gguf.Decode(ids, skipSpecialTokens: true));
            cases++;
        }
        Assert.True(cases > 10, $"only {cases} public cases read");
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Special_tokens_are_those_of_tokenizer_json(string folder)
    {
        var json = TokenizerFixture.Tokenizer;
        var gguf = OlmoeTokenizer.FromGguf(SharedData.Path("golden", "gguf", folder, "model.gguf"));
        Assert.Equal(json.EndOfTextId, gguf.EndOfTextId);
        Assert.Equal(json.PaddingId, gguf.PaddingId);
        for (int id = 0; id < json.VocabularySize; id++) Assert.Equal(json.IsSpecial(id), gguf.IsSpecial(id));
        // Added tokens in running text: the special one raw, a user-defined one (a run of spaces) after normalization.
        const string text = "a<|endoftext|>b                        c|||EMAIL_ADDRESS|||";
        Assert.Equal(json.Encode(text), gguf.Encode(text));
    }

    [Fact]
    public void A_gguf_without_a_tokenizer_is_refused_naming_the_key()
    {
        using var dir = new TempDirectory();
        string path = System.IO.Path.Combine(dir.Path, "bare.gguf");
        File.WriteAllBytes(path, Hostile.Gguf.GgufBuilder.Valid().Build());
        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromGguf(path));
        Assert.Contains("tokenizer.ggml.model", error.Message);
        Assert.Contains(path, error.Message);
    }
}
