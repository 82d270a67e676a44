using System.Text.Json;
using OlmoeSharp.IO;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Reads and validates a Hugging Face tokenizer.json (format "1.0") describing a byte-level BPE tokenizer.
/// The file is untrusted: everything is checked before use, and any fault becomes a
/// <see cref="ModelFormatException"/> naming the file and the field. Settings this implementation does not
/// reproduce exactly are refused rather than ignored, so a loaded tokenizer always matches the reference.
/// </summary>
internal static class TokenizerJsonReader
{
    /// <summary>Files above this size are refused before being read (the OLMoE file is about 2 MB).</summary>
    public const long MaxFileBytes = 100L * 1024 * 1024;

    /// <summary>JSON nesting deeper than this is refused (the format needs four levels).</summary>
    public const int MaxDepth = 32;

    /// <summary>Reads, parses and validates the tokenizer.json at <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">
    /// The file is missing, unreadable, not a regular file, too large, malformed or describes an unsupported tokenizer.
    /// </exception>
    public static TokenizerDefinition Read(string path)
    {
        byte[] bytes;
        try
        {
            // Size-checked before opening, through symbolic links, so a FIFO or a device is refused without blocking.
            bytes = UntrustedFile.ReadAll(path, MaxFileBytes, "tokenizer.json");
        }
        catch (FileNotFoundException e)
        {
            throw new ModelFormatException(path, "the file does not exist", inner: e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException and not ModelFormatException)
        {
            throw new ModelFormatException(path, "the file cannot be read: " + e.Message, inner: e);
        }

        // A UTF-8 byte order mark is legal in a file but not in JSON text.
        var json = bytes.AsMemory();
        if (json.Span.StartsWith("\uFEFF"u8)) json = json[3..];
        using var document = UntrustedJson.Parse(json, path, MaxDepth);
        return new Parser(path).Parse(document.RootElement);
    }

    private sealed class Parser(string path)
    {
        public TokenizerDefinition Parse(JsonElement root)
        {
            Expect(root, JsonValueKind.Object, "(root)");
            CheckNullOrAbsent(root, "truncation");
            CheckNullOrAbsent(root, "padding");
            bool normalizeNfc = ReadNormalizer(root);
            CheckByteLevel(root, "pre_tokenizer", required: true);
            CheckByteLevel(root, "decoder", required: true);
            CheckByteLevel(root, "post_processor", required: false);

            var model = Required(root, "model", JsonValueKind.Object, "model");
            if (model.TryGetProperty("type", out var type) && !(type.ValueKind == JsonValueKind.String && type.GetString() == "BPE"))
                throw Fault("only a BPE model is supported", "model.type");
            CheckModelOptions(model);
            var tokens = ReadVocabulary(Required(model, "vocab", JsonValueKind.Object, "model.vocab"));
            var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
            for (int id = 0; id < tokens.Length; id++)
            {
                if (!ids.TryAdd(tokens[id], id))
                    throw Fault($"the token {Quote(tokens[id])} appears twice", "model.vocab");
            }
            var merges = ReadMerges(Required(model, "merges", JsonValueKind.Array, "model.merges"), ids);
            var addedTokens = ReadAddedTokens(root, tokens);
            return new TokenizerDefinition(tokens, merges, addedTokens, normalizeNfc);
        }

        private bool ReadNormalizer(JsonElement root)
        {
            if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null)
                return false;
            if (TypeOf(normalizer, "normalizer") != "NFC")
                throw Fault("only the NFC normalizer (or none) is supported", "normalizer.type");
            return true;
        }

        private void CheckByteLevel(JsonElement root, string name, bool required)
        {
            if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
            {
                if (required) throw Fault("missing; a ByteLevel " + name + " is required", name);
                return;
            }
            if (TypeOf(element, name) != "ByteLevel") throw Fault("only ByteLevel is supported", name + ".type");

            // Only the pre-tokenizer's flags change ids; the decoder and post-processor ignore them.
            if (name == "pre_tokenizer")
            {
                CheckFlag(element, "add_prefix_space", expected: false, defaultValue: true, name);
                CheckFlag(element, "use_regex", expected: true, defaultValue: true, name);
            }
        }

        private void CheckFlag(JsonElement element, string flag, bool expected, bool defaultValue, string owner)
        {
            bool value = defaultValue;
            if (element.TryGetProperty(flag, out var property))
            {
                value = property.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw Fault("must be true or false", owner + "." + flag),
                };
            }
            if (value != expected)
                throw Fault($"only {(expected ? "true" : "false")} is supported", owner + "." + flag);
        }

        private void CheckModelOptions(JsonElement model)
        {
            foreach (string option in new[] { "unk_token", "continuing_subword_prefix", "end_of_word_suffix" })
            {
                if (model.TryGetProperty(option, out var value) && value.ValueKind != JsonValueKind.Null)
                    throw Fault("must be null: this byte-level BPE has no unknown token and no affixes", "model." + option);
            }
            foreach (string option in new[] { "fuse_unk", "byte_fallback", "ignore_merges" })
            {
                if (model.TryGetProperty(option, out var value) && value.ValueKind is not (JsonValueKind.False or JsonValueKind.Null))
                    throw Fault("must be false", "model." + option);
            }
            if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind != JsonValueKind.Null
                && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
                throw Fault("must be null: BPE dropout makes encoding random", "model.dropout");
        }

        private string[] ReadVocabulary(JsonElement vocab)
        {
            int count = 0;
            foreach (var _ in vocab.EnumerateObject()) count++;
            var tokens = new string?[count];
            foreach (var entry in vocab.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id))
                    throw Fault("the id must be an integer", VocabField(entry.Name));
                if (id < 0 || id >= count)
                    throw Fault($"id {id} is out of range: the {count} ids must be 0..{count - 1}", VocabField(entry.Name));
                if (tokens[id] is not null)
                    throw Fault($"id {id} is also given to {Quote(tokens[id]!)}", VocabField(entry.Name));
                if (entry.Name.Length == 0) throw Fault("a token cannot be empty", VocabField(entry.Name));
                tokens[id] = entry.Name;
            }

            // count entries with distinct ids in 0..count-1: every slot is filled.
            return tokens!;
        }

        private static string VocabField(string token) => "model.vocab[" + Quote(token) + "]";

        private List<(int Left, int Right, int Merged)> ReadMerges(JsonElement merges, Dictionary<string, int> ids)
        {
            var result = new List<(int, int, int)>(merges.GetArrayLength());
            int index = 0;
            foreach (var merge in merges.EnumerateArray())
            {
                string left, right;
                if (merge.ValueKind == JsonValueKind.String)
                {
                    // "left right": byte-level tokens never contain a space (it is written 'Ġ').
                    var parts = merge.GetString()!.Split(' ');
                    if (parts.Length != 2)
                        throw Fault("a merge must be two tokens separated by one space", MergeField(index));
                    (left, right) = (parts[0], parts[1]);
                }
                else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                         && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                {
                    (left, right) = (merge[0].GetString()!, merge[1].GetString()!);
                }
                else
                {
                    throw Fault("a merge must be a string \"left right\" or an array of two strings", MergeField(index));
                }
                result.Add((Lookup(left, ids, index), Lookup(right, ids, index), Lookup(left + right, ids, index)));
                index++;
            }
            return result;
        }

        private int Lookup(string token, Dictionary<string, int> ids, int mergeIndex) =>
            ids.TryGetValue(token, out int id) ? id : throw Fault($"the merge needs {Quote(token)}, which is not in model.vocab", MergeField(mergeIndex));

        private static string MergeField(int index) => $"model.merges[{index}]";

        private List<AddedTokenDefinition> ReadAddedTokens(JsonElement root, string[] tokens)
        {
            var result = new List<AddedTokenDefinition>();
            if (!root.TryGetProperty("added_tokens", out var added) || added.ValueKind == JsonValueKind.Null)
                return result;
            Expect(added, JsonValueKind.Array, "added_tokens");
            int index = 0;
            foreach (var token in added.EnumerateArray())
            {
                string field = $"added_tokens[{index++}]";
                Expect(token, JsonValueKind.Object, field);
                var idElement = Required(token, "id", JsonValueKind.Number, field + ".id");
                if (!idElement.TryGetInt32(out int id) || id < 0 || id >= tokens.Length)
                    throw Fault($"must be an id of model.vocab (0..{tokens.Length - 1})", field + ".id");
                string content = Required(token, "content", JsonValueKind.String, field + ".content").GetString()!;
                if (content != tokens[id])
                    throw Fault($"{Quote(content)} does not match model.vocab, where id {id} is {Quote(tokens[id])}", field + ".content");
                foreach (string option in new[] { "single_word", "lstrip", "rstrip" })
                {
                    if (Boolean(token, option, field) == true) throw Fault("must be false", field + "." + option);
                }
                result.Add(new AddedTokenDefinition(
                    id, content, Boolean(token, "special", field) ?? false, Boolean(token, "normalized", field) ?? true));
            }
            return result;
        }

        private bool? Boolean(JsonElement element, string name, string owner)
        {
            if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Fault("must be true or false", owner + "." + name),
            };
        }

        private string? TypeOf(JsonElement element, string field)
        {
            Expect(element, JsonValueKind.Object, field);
            return Required(element, "type", JsonValueKind.String, field + ".type").GetString();
        }

        private void CheckNullOrAbsent(JsonElement root, string name)
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
                throw Fault("must be null: truncation and padding are not supported", name);
        }

        private JsonElement Required(JsonElement parent, string name, JsonValueKind kind, string field)
        {
            if (!parent.TryGetProperty(name, out var value)) throw Fault("missing", field);
            Expect(value, kind, field);
            return value;
        }

        private void Expect(JsonElement element, JsonValueKind kind, string field)
        {
            if (element.ValueKind != kind)
                throw Fault($"expected {Describe(kind)}, found {Describe(element.ValueKind)}", field);
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };

        /// <summary>A token as a short JSON string literal, so a message stays one readable line.</summary>
        private static string Quote(string token)
        {
            const int maxShown = 40;
            if (token.Length > maxShown)
                token = token[..(char.IsHighSurrogate(token[maxShown - 1]) ? maxShown - 1 : maxShown)] + "…";
            return JsonSerializer.Serialize(token);
        }

        private ModelFormatException Fault(string detail, string field) => new(path, detail, field);
    }
}
