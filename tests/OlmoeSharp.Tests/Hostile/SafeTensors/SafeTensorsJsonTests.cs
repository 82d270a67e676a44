using System.Text;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Hostile.SafeTensors;

/// <summary>
/// Safetensors headers that are not the JSON object the format requires: malformed, hostile nesting, the wrong
/// kind of value, trailing content, bytes that are not UTF-8.
/// </summary>
public sealed class SafeTensorsJsonTests
{
    private const string Weights = HostileCheckpoint.Weights;

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("{\"a\":")]
    [InlineData("{\"a\" 1}")]
    [InlineData("{'a': 1}")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{}}")]
    [InlineData("{} x")]
    [InlineData("{}{}")]
    [InlineData("/* comment */ {}")]
    [InlineData("{}\0\0\0\0")]
    [InlineData("\uFEFF{}")]
    [InlineData("nul")]
    public void Malformed_json_is_refused(string header)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.ReplaceHeader(Weights, header);
        HostileAssert.Rejects(checkpoint, Weights, item: null);
    }

    [Fact]
    public void Trailing_garbage_after_the_real_header_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeaderText(Weights, text => text.TrimEnd() + " {\"x\":1}");
        HostileAssert.Rejects(checkpoint, Weights, item: null);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("[{}]")]
    [InlineData("\"header\"")]
    [InlineData("12345")]
    [InlineData("null")]
    [InlineData("true")]
    public void A_header_that_is_not_an_object_is_refused(string header)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.ReplaceHeader(Weights, header);
        Assert.Contains("not an object", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }

    [Theory]
    [InlineData("[", "]")]
    [InlineData("{\"a\":", "}")]
    public void Ten_thousand_levels_of_nesting_are_refused_without_recursion(string open, string close)
    {
        using var checkpoint = new HostileCheckpoint();
        string nested = string.Concat(Enumerable.Repeat(open, 10_000)) + "0" + string.Concat(Enumerable.Repeat(close, 10_000));
        checkpoint.ReplaceHeader(Weights, nested);
        HostileAssert.Rejects(checkpoint, Weights, item: null);
        checkpoint.ReplaceHeader(Weights, "{\"t\":{\"dtype\":\"F32\",\"shape\":" + nested + "}}");
        HostileAssert.Rejects(checkpoint, Weights, item: null);
    }

    [Fact]
    public void An_empty_header_object_leaves_every_tensor_missing()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.ReplaceHeader(Weights, "{}");
        Assert.Contains("missing", HostileAssert.Rejects(checkpoint, Weights, TensorNames.Embeddings).Message);
    }

    /// <summary>Raw bytes spliced into the header text in place of a marker.</summary>
    public static TheoryData<string, string, byte[]> NonUtf8Headers() => new()
    {
        { "invalid byte in a tensor name", TensorNames.FinalNorm, [0xFF] },
        { "continuation byte alone in a tensor name", TensorNames.FinalNorm, [0x80] },
        { "overlong NUL in a tensor name", TensorNames.FinalNorm, [0xC0, 0x80] },
        { "encoded surrogate in a tensor name", TensorNames.FinalNorm, [0xED, 0xA0, 0x80] },
        { "truncated sequence in a tensor name", TensorNames.FinalNorm, [0xE2, 0x82] },
        { "invalid byte in a dtype", "BF16", [0xFE] },
        { "invalid byte in metadata", "pt", [0xFF] },
    };

    [Theory]
    [MemberData(nameof(NonUtf8Headers))]
    public void Bytes_that_are_not_utf8_are_refused(string description, string marker, byte[] bytes)
    {
        using var checkpoint = new HostileCheckpoint();
        var header = checkpoint.ReadSafeTensors(Weights).Header;
        byte[] quoted = Encoding.UTF8.GetBytes($"\"{marker}\"");
        int at = header.AsSpan().IndexOf(quoted) + 1;
        Assert.True(at > 0, description);
        checkpoint.ReplaceHeader(Weights, [.. header.AsSpan(0, at), .. bytes, .. header.AsSpan(at)]);
        Assert.Contains("UTF-8", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("\\udfff")]
    [InlineData("x\\ud83d")]
    [InlineData("\\ude00\\ud83d")]
    public void An_escaped_lone_surrogate_in_a_tensor_name_is_refused(string escape)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeaderText(Weights, text => text.Replace($"\"{TensorNames.FinalNorm}\"", $"\"{TensorNames.FinalNorm}{escape}\""));
        Assert.Contains("surrogate", HostileAssert.Rejects(checkpoint, Weights, item: null).Message);
    }

    [Fact]
    public void An_escaped_lone_surrogate_in_a_value_names_the_tensor()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeaderText(Weights, text => text.Replace($"\"{TensorNames.FinalNorm}\":{{\"dtype\":\"BF16\"", $"\"{TensorNames.FinalNorm}\":{{\"dtype\":\"BF\\ud80016\""));
        Assert.Contains("surrogate", HostileAssert.Rejects(checkpoint, Weights, TensorNames.FinalNorm).Message);
    }

    [Fact]
    public void A_properly_paired_surrogate_escape_is_just_an_unknown_tensor()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeader(Weights, header => header["\U0001F600"] = new System.Text.Json.Nodes.JsonObject
        {
            ["dtype"] = "BF16", ["shape"] = new System.Text.Json.Nodes.JsonArray(0), ["data_offsets"] = new System.Text.Json.Nodes.JsonArray(0, 0),
        });
        checkpoint.Load().Dispose();
    }
}
