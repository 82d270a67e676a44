using System.Text.Encodings.Web;
using System.Text.Json;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Writes a <see cref="TokenizerDefinition"/> as a Hugging Face tokenizer.json (the inverse of
/// <see cref="TokenizerJsonReader"/>), laid out as OLMoE's own: NFC normalizer (when the definition normalizes),
/// byte-level pre-tokenizer, post-processor and decoder, a BPE model with the vocabulary and the merges as
/// "left right" strings, and the added tokens with their special and normalized flags.
/// </summary>
internal static class TokenizerJsonWriter
{
    public static void Write(string path, TokenizerDefinition definition)
    {
        using var stream = File.Create(path);
        // Tokens are written as UTF-8 text, as the tokenizers library writes them; quotes and controls are still escaped.
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");
        json.WriteStartArray("added_tokens");
        foreach (var token in definition.AddedTokens.OrderBy(t => t.Id))
        {
            json.WriteStartObject();
            json.WriteNumber("id", token.Id);
            json.WriteString("content", token.Content);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", token.Normalized);
            json.WriteBoolean("special", token.Special);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (definition.NormalizeNfc)
        {
            json.WriteStartObject("normalizer");
            json.WriteString("type", "NFC");
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("normalizer");
        }
        foreach (string part in new[] { "pre_tokenizer", "post_processor", "decoder" })
        {
            json.WriteStartObject(part);
            json.WriteString("type", "ByteLevel");
            json.WriteBoolean("add_prefix_space", false);
            json.WriteBoolean("trim_offsets", true);
            json.WriteBoolean("use_regex", true);
            json.WriteEndObject();
        }
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteNull("continuing_subword_prefix");
        json.WriteNull("end_of_word_suffix");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WriteStartObject("vocab");
        for (int id = 0; id < definition.Tokens.Length; id++) json.WriteNumber(definition.Tokens[id], id);
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (var (left, right, _) in definition.Merges) json.WriteStringValue($"{definition.Tokens[left]} {definition.Tokens[right]}");
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
