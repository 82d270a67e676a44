using System.Text.Json;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>
/// The tokenizer against shared/tokenizers: ids, decode and decode-skipping-special for every public encode case,
/// and every decode case, exactly as the reference Rust library produced them.
/// </summary>
public sealed class TokenizerCaseTests
{
    internal static readonly Lazy<OlmoeTokenizer> Tokenizer = new(() => OlmoeTokenizer.Load(SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json")));

    private static IEnumerable<JsonElement> Cases(string file) =>
        File.ReadLines(SharedData.Path("tokenizers", file)).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement);

    public static TheoryData<int> EncodeCases() => new(Enumerable.Range(0, Cases("public-cases.jsonl").Count()));

    public static TheoryData<int> DecodeCases() => new(Enumerable.Range(0, Cases("public-decode-cases.jsonl").Count()));

    private static int[] Ids(JsonElement c) => c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void Encode_and_decode_match_the_reference(int index)
    {
        var c = Cases("public-cases.jsonl").ElementAt(index);
        string text = c.GetProperty("text").GetString()!;
        var ids = Ids(c);
        Assert.Equal(ids, Tokenizer.Value.Encode(text));
        Assert.Equal(c.GetProperty("decode").GetString(), Tokenizer.Value.Decode(ids));
        Assert.Equal(c.GetProperty("decode_skip_special").GetString(), Tokenizer.Value.Decode(ids, skipSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void Decode_matches_the_reference(int index)
    {
        var c = Cases("public-decode-cases.jsonl").ElementAt(index);
        var ids = Ids(c);
        Assert.Equal(c.GetProperty("decode").GetString(), Tokenizer.Value.Decode(ids));
        Assert.Equal(c.GetProperty("decode_skip_special").GetString(), Tokenizer.Value.Decode(ids, skipSpecialTokens: true));
    }
}
