using System.Text.Json;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tokenization;

/// <summary>An added token of tokenizer.json: text matched before BPE and given its own id.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Content">Its text.</param>
/// <param name="Special">Whether "skip special tokens" drops it when decoding.</param>
internal sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>
/// The parts of a Hugging Face tokenizer.json that a byte-level BPE tokenizer needs, read from an untrusted file and
/// validated: a BPE model with vocab and merges, the added tokens, an NFC (or no) normaliser, and ByteLevel
/// pre-tokenisation without a prefix space.
/// </summary>
internal sealed class TokenizerDefinition
{
    public const long MaxFileBytes = 100L << 20;
    private const int MaxId = 10_000_000;

    public required Dictionary<string, int> Vocab { get; init; }
    public required Dictionary<long, (int Rank, int Merged)> Merges { get; init; }
    public required IReadOnlyList<AddedToken> AddedTokens { get; init; }
    public required bool NormalizeNfc { get; init; }

    public static TokenizerDefinition Load(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: tokenizer file not found.", path);
        if (info.Length > MaxFileBytes) throw new ModelFormatException(path, $"file is {info.Length} bytes; at most {MaxFileBytes} are accepted.");
        using var document = UntrustedJson.Parse(File.ReadAllBytes(path), path, maxDepth: 64);
        return Parse(document.RootElement, path);
    }

    private static TokenizerDefinition Parse(JsonElement root, string path)
    {
        ModelFormatException Bad(string field, string detail) => new(path, detail, field);
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException(path, "the top level is not a JSON object.");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object) throw Bad("model", "missing or not an object.");
        if (model.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != "BPE"))
            throw Bad("model.type", $"only BPE models are supported; found {type.GetRawText()}.");

        if (!model.TryGetProperty("vocab", out var vocabElement) || vocabElement.ValueKind != JsonValueKind.Object) throw Bad("model.vocab", "missing or not an object.");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var seenIds = new HashSet<int>();
        foreach (var entry in vocabElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0 || id >= MaxId)
                throw Bad("model.vocab", $"token {Quote(entry.Name)} has id {entry.Value.GetRawText()}, not an integer in [0, {MaxId}).");
            if (!seenIds.Add(id)) throw Bad("model.vocab", $"id {id} is given to more than one token.");
            if (!vocab.TryAdd(entry.Name, id)) throw Bad("model.vocab", $"token {Quote(entry.Name)} is listed twice.");
        }
        if (vocab.Count == 0) throw Bad("model.vocab", "is empty.");

        if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind != JsonValueKind.Array) throw Bad("model.merges", "missing or not an array.");
        var merges = new Dictionary<long, (int, int)>();
        int rank = 0;
        foreach (var merge in mergesElement.EnumerateArray())
        {
            var (left, right) = MergeParts(merge) ?? throw Bad("model.merges", $"merge {rank} is {Truncate(merge.GetRawText())}, not \"left right\" or [left, right].");
            if (!vocab.TryGetValue(left, out int leftId) || !vocab.TryGetValue(right, out int rightId) || !vocab.TryGetValue(left + right, out int merged))
                throw Bad("model.merges", $"merge {rank} ({Quote(left)} + {Quote(right)}) names a token that is not in the vocabulary.");
            merges.TryAdd(BytePairEncoder.PairKey(leftId, rightId), (rank, merged));
            rank++;
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedElement) && addedElement.ValueKind != JsonValueKind.Null)
        {
            if (addedElement.ValueKind != JsonValueKind.Array) throw Bad("added_tokens", "not an array.");
            foreach (var token in addedElement.EnumerateArray())
            {
                if (token.ValueKind != JsonValueKind.Object
                    || !token.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt32(out int id) || id < 0 || id >= MaxId
                    || !token.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(content.GetString()))
                    throw Bad("added_tokens", $"entry {Truncate(token.GetRawText())} needs an integer id in [0, {MaxId}) and non-empty content.");
                bool special = token.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True;
                if (vocab.TryGetValue(content.GetString()!, out int vocabId) && vocabId != id)
                    throw Bad("added_tokens", $"{Quote(content.GetString()!)} has id {id} here but {vocabId} in the vocabulary.");
                added.Add(new AddedToken(id, content.GetString()!, special));
            }
        }

        return new TokenizerDefinition
        {
            Vocab = vocab,
            Merges = merges,
            AddedTokens = added,
            NormalizeNfc = ReadNormalizer(root, path),
        }.CheckPipeline(root, path);
    }

    private TokenizerDefinition CheckPipeline(JsonElement root, string path)
    {
        foreach (var stage in (ReadOnlySpan<string>)["pre_tokenizer", "decoder"])
        {
            if (!root.TryGetProperty(stage, out var element) || element.ValueKind == JsonValueKind.Null) continue;
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String || t.GetString() != "ByteLevel")
                throw new ModelFormatException(path, $"only a ByteLevel {stage} is supported; found {Truncate(element.GetRawText())}.", stage);
            if (element.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
                throw new ModelFormatException(path, "add_prefix_space = true is not supported.", stage);
        }
        return this;
    }

    private static bool ReadNormalizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null) return false;
        if (normalizer.ValueKind == JsonValueKind.Object && normalizer.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "NFC")
            return true;
        throw new ModelFormatException(path, $"only an NFC normalizer (or none) is supported; found {Truncate(normalizer.GetRawText())}.", "normalizer");
    }

    private static (string, string)? MergeParts(JsonElement merge)
    {
        if (merge.ValueKind == JsonValueKind.String)
        {
            string text = merge.GetString()!;
            int space = text.IndexOf(' ', 1);
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0) return null;
            return (text[..space], text[(space + 1)..]);
        }
        if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
            && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String
            && merge[0].GetString()!.Length > 0 && merge[1].GetString()!.Length > 0)
            return (merge[0].GetString()!, merge[1].GetString()!);
        return null;
    }

    private static string Quote(string token) => "\"" + Truncate(token) + "\"";

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
