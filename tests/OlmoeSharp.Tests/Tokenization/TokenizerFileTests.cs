using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>Malformed tokenizer.json files are refused with a <see cref="ModelFormatException"/> naming the file and field.</summary>
public sealed class TokenizerFileTests
{
    private const string ValidVocab = "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}";

    [Theory]
    [InlineData("{", null)]
    [InlineData("[]", null)]
    [InlineData("{}", "model")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", " + ValidVocab + ", \"merges\": []}}", "model.type")]
    [InlineData("{\"model\": {\"merges\": []}}", "model.vocab")]
    [InlineData("{\"model\": {\"vocab\": {}, \"merges\": []}}", "model.vocab")]
    [InlineData("{\"model\": {\"vocab\": {\"a\": -1}, \"merges\": []}}", "model.vocab")]
    [InlineData("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", "model.vocab")]
    [InlineData("{\"model\": {\"vocab\": {\"a\": \"x\"}, \"merges\": []}}", "model.vocab")]
    [InlineData("{\"model\": {" + ValidVocab + "}}", "model.merges")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": [\"a\"]}}", "model.merges")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": [\"a c\"]}}", "model.merges")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": [17]}}", "model.merges")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": []}, \"added_tokens\": [{\"id\": \"x\", \"content\": \"<s>\"}]}", "added_tokens")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": []}, \"added_tokens\": [{\"id\": 3, \"content\": \"\"}]}", "added_tokens")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": []}, \"normalizer\": {\"type\": \"Lowercase\"}}", "normalizer")]
    [InlineData("{\"model\": {" + ValidVocab + ", \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Whitespace\"}}", "pre_tokenizer")]
    public void Malformed_files_are_refused_with_the_field_named(string json, string? field)
    {
        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.Load(path));
        Assert.Equal(path, error.FilePath);
        Assert.Equal(field, error.Item);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Deeply_nested_json_is_refused_without_overflowing_the_stack()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, new string('[', 100_000) + new string(']', 100_000));
        Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.Load(path));
    }

    [Fact]
    public void A_missing_file_is_a_file_not_found_naming_it()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<FileNotFoundException>(() => OlmoeTokenizer.Load(dir.Path));
        Assert.Contains("tokenizer.json", error.Message);
    }

    [Fact]
    public void A_minimal_valid_file_loads_and_applies_its_merges()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", " + ValidVocab + ", \"merges\": [\"a b\"]}}");
        var tokenizer = OlmoeTokenizer.Load(dir.Path);
        Assert.Equal([2, 0], tokenizer.Encode("aba"));
        Assert.Equal("aba", tokenizer.Decode([2, 0]));
    }
}
