using System.Text.Json.Nodes;
using OlmoeSharp.Tests.Platform;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>Malformed, inconsistent or unsupported tokenizer.json files must fail with a ModelFormatException naming the file and field.</summary>
public sealed class HostileTokenizerJsonTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("olmoe-hostile-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void The_minimal_valid_file_loads_and_encodes()
    {
        var tokenizer = OlmoeTokenizer.FromFile(Write(Valid()));

        // "a b" merges first (rank 0), then "ab c"; "Ġ c" (space, c) has no merge although "Ġc" is a token.
        Assert.Equal([7, 3, 2], tokenizer.Encode("abc c"));
        Assert.Equal("abc c", tokenizer.Decode([7, 3, 2]));
        Assert.Equal(5, tokenizer.EndOfTextId);
        Assert.Equal(6, tokenizer.PaddingId);
    }

    public static TheoryData<string, string> Mutations => new()
    {
        { "root is an array", "(root)" },
        { "model missing", "model" },
        { "model is a string", "model" },
        { "model type WordPiece", "model.type" },
        { "vocab missing", "model.vocab" },
        { "vocab is an array", "model.vocab" },
        { "merges missing", "model.merges" },
        { "merges is an object", "model.merges" },
        { "id is a string", "model.vocab[\"a\"]" },
        { "id is fractional", "model.vocab[\"a\"]" },
        { "id is negative", "model.vocab[\"a\"]" },
        { "id out of range", "model.vocab[\"a\"]" },
        { "id is huge", "model.vocab[\"a\"]" },
        { "duplicate id", "model.vocab[\"b\"]" },
        { "merge names unknown token", "model.merges[0]" },
        { "merge result not in vocab", "model.merges[1]" },
        { "merge has three parts", "model.merges[0]" },
        { "merge is a number", "model.merges[0]" },
        { "merge array of one", "model.merges[0]" },
        { "added token id out of range", "added_tokens[0].id" },
        { "added token content mismatch", "added_tokens[0].content" },
        { "added token lstrip", "added_tokens[0].lstrip" },
        { "added token special not boolean", "added_tokens[0].special" },
        { "added tokens is an object", "added_tokens" },
        { "normalizer NFKC", "normalizer.type" },
        { "normalizer without type", "normalizer.type" },
        { "pre_tokenizer missing", "pre_tokenizer" },
        { "pre_tokenizer Whitespace", "pre_tokenizer.type" },
        { "add_prefix_space true", "pre_tokenizer.add_prefix_space" },
        { "decoder missing", "decoder" },
        { "dropout", "model.dropout" },
        { "unk_token", "model.unk_token" },
        { "byte_fallback", "model.byte_fallback" },
        { "truncation", "truncation" },
        { "no endoftext token", "model.vocab" },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public void A_broken_field_is_named(string mutation, string field)
    {
        string path = WriteText(Mutate(Valid(), mutation).ToJsonString());

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(path));

        Assert.Equal(path, error.FilePath);
        Assert.Equal(field, error.Item);
        Assert.Contains(path, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_duplicate_vocabulary_key_is_refused()
    {
        string text = Valid().ToJsonString().Replace("\"a\":0,", "\"a\":0,\"a\":1,", StringComparison.Ordinal);

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(WriteText(text)));

        Assert.StartsWith("model.vocab", error.Item);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"model\": {\"vocab\": {\"a\": 0}")]
    [InlineData("{\"model\": nul}")]
    [InlineData("\uFEFF\u0000")]
    public void Malformed_json_is_refused(string text)
    {
        string path = WriteText(text);

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("JSON", error.Message);
    }

    [Fact]
    public void Deep_nesting_is_refused()
    {
        string path = WriteText("{\"model\":" + new string('[', 100_000) + new string(']', 100_000) + "}");

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(path));

        Assert.Contains("depth", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        string path = WriteText("");

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(path));

        Assert.Equal(path, error.FilePath);
        Assert.Null(error.Item);
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void A_huge_file_is_refused_before_it_is_read()
    {
        string path = Path.Combine(_folder.FullName, "huge.json");
        using (var stream = File.Create(path))
        {
            stream.SetLength(TokenizerJsonReader.MaxFileBytes + 1); // sparse: costs no disk
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(path));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed.TotalSeconds:0.###} s");
        Assert.Equal(path, error.FilePath);
        Assert.Null(error.Item);
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains("bytes", error.Message);
    }

    [LinuxFact] // mkfifo is POSIX; the size check it exercises is the same everywhere.
    public void A_fifo_is_refused_within_a_second_without_being_opened()
    {
        string path = Path.Combine(_folder.FullName, OlmoeTokenizer.FileName);
        Fifo.Create(path);

        var error = Fifo.Throws<ModelFormatException>(path, TimeSpan.FromSeconds(1), () => OlmoeTokenizer.FromFile(path));

        Assert.Equal(path, error.FilePath);
        Assert.Null(error.Item);
        Assert.StartsWith(path + ":", error.Message);
    }

    [Fact]
    public void A_symbolic_link_is_read_through_to_its_target()
    {
        // The Hugging Face cache links every snapshot file to a blob; the link's own size is not the file's.
        string blob = Write(Valid());
        string link = Path.Combine(_folder.FullName, OlmoeTokenizer.FileName);
        File.CreateSymbolicLink(link, Path.GetFileName(blob));

        Assert.Equal([7, 3, 2], OlmoeTokenizer.FromFile(link).Encode("abc c"));
    }

    [Fact]
    public void A_token_that_is_not_valid_utf8_is_refused()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(Valid().ToJsonString());
        int at = bytes.AsSpan().IndexOf("\"abc\""u8) + 1;
        bytes[at] = 0xC0;
        string path = Path.Combine(_folder.FullName, "bad-utf8.json");
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(path));

        Assert.Equal(path, error.FilePath);
        Assert.Contains("UTF-8", error.Message);
    }

    [Fact]
    public void A_token_with_a_lone_surrogate_escape_is_refused()
    {
        string text = Valid().ToJsonString().Replace("\"abc\"", "\"abc\\ud800\"", StringComparison.Ordinal);

        var error = Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.FromFile(WriteText(text)));

        Assert.Equal("model", error.Item);
        Assert.Contains("surrogate", error.Message);
    }

    [Fact]
    public void A_missing_file_or_folder_entry_is_named()
    {
        string missing = Path.Combine(_folder.FullName, "nope.json");
        Assert.Equal(missing, Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.Load(missing)).FilePath);

        string inFolder = Path.Combine(_folder.FullName, OlmoeTokenizer.FileName);
        Assert.Equal(inFolder, Assert.Throws<ModelFormatException>(() => OlmoeTokenizer.Load(_folder.FullName)).FilePath);
    }

    /// <summary>
    /// A small consistent tokenizer: bytes a b c and space (Ġ), merges "a b" and "ab c", and the two special tokens
    /// (ids 5, 6) the tokenizer requires.
    /// </summary>
    private static JsonObject Valid() => new()
    {
        ["version"] = "1.0",
        ["truncation"] = null,
        ["padding"] = null,
        ["added_tokens"] = new JsonArray(
            AddedToken(5, "<|endoftext|>", special: true),
            AddedToken(6, "<|padding|>", special: true)),
        ["normalizer"] = new JsonObject { ["type"] = "NFC" },
        ["pre_tokenizer"] = ByteLevel(),
        ["post_processor"] = ByteLevel(),
        ["decoder"] = ByteLevel(),
        ["model"] = new JsonObject
        {
            ["type"] = "BPE",
            ["dropout"] = null,
            ["unk_token"] = null,
            ["continuing_subword_prefix"] = null,
            ["end_of_word_suffix"] = null,
            ["fuse_unk"] = false,
            ["byte_fallback"] = false,
            ["vocab"] = new JsonObject
            {
                ["a"] = 0, ["b"] = 1, ["c"] = 2, ["Ġ"] = 3, ["Ġc"] = 4, ["<|endoftext|>"] = 5, ["<|padding|>"] = 6,
                ["ab"] = 8, ["abc"] = 7, ["x"] = 9,
            },
            ["merges"] = new JsonArray("a b", "ab c"),
        },
    };

    private static JsonObject AddedToken(int id, string content, bool special) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = !special, ["special"] = special,
    };

    private static JsonObject ByteLevel() => new()
    {
        ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true,
    };

    private static JsonNode Mutate(JsonObject json, string mutation)
    {
        var model = json["model"]!.AsObject();
        var vocab = model["vocab"]!.AsObject();
        var firstAdded = json["added_tokens"]![0]!.AsObject();
        switch (mutation)
        {
            case "root is an array": return new JsonArray(json);
            case "model missing": json.Remove("model"); break;
            case "model is a string": json["model"] = "BPE"; break;
            case "model type WordPiece": model["type"] = "WordPiece"; break;
            case "vocab missing": model.Remove("vocab"); break;
            case "vocab is an array": model["vocab"] = new JsonArray("a"); break;
            case "merges missing": model.Remove("merges"); break;
            case "merges is an object": model["merges"] = new JsonObject(); break;
            case "id is a string": vocab["a"] = "0"; break;
            case "id is fractional": vocab["a"] = 0.5; break;
            case "id is negative": vocab["a"] = -1; break;
            case "id out of range": vocab["a"] = 10; break;
            case "id is huge": vocab["a"] = 1e30; break;
            case "duplicate id": vocab["b"] = 0; break;
            case "merge names unknown token": model["merges"]![0] = "a q"; break;
            case "merge result not in vocab": model["merges"]![1] = "b c"; break;
            case "merge has three parts": model["merges"]![0] = "a b c"; break;
            case "merge is a number": model["merges"]![0] = 3; break;
            case "merge array of one": model["merges"]![0] = new JsonArray("a"); break;
            case "added token id out of range": firstAdded["id"] = 99; break;
            case "added token content mismatch": firstAdded["content"] = "<|eot|>"; break;
            case "added token lstrip": firstAdded["lstrip"] = true; break;
            case "added token special not boolean": firstAdded["special"] = "yes"; break;
            case "added tokens is an object": json["added_tokens"] = new JsonObject(); break;
            case "normalizer NFKC": json["normalizer"] = new JsonObject { ["type"] = "NFKC" }; break;
            case "normalizer without type": json["normalizer"] = new JsonObject(); break;
            case "pre_tokenizer missing": json.Remove("pre_tokenizer"); break;
            case "pre_tokenizer Whitespace": json["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }; break;
            case "add_prefix_space true": json["pre_tokenizer"]!["add_prefix_space"] = true; break;
            case "decoder missing": json["decoder"] = null; break;
            case "dropout": model["dropout"] = 0.1; break;
            case "unk_token": model["unk_token"] = "a"; break;
            case "byte_fallback": model["byte_fallback"] = true; break;
            case "truncation": json["truncation"] = new JsonObject { ["max_length"] = 5 }; break;
            case "no endoftext token":
                vocab.Remove("<|endoftext|>");
                vocab["<|eot|>"] = 5;
                json["added_tokens"]!.AsArray().RemoveAt(0);
                break;
            default: throw new ArgumentException(mutation);
        }

        return json;
    }

    private string Write(JsonNode json) => WriteText(json.ToJsonString());

    private string WriteText(string text)
    {
        string path = Path.Combine(_folder.FullName, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, text);
        return path;
    }
}
