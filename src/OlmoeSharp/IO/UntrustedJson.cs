using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace OlmoeSharp.IO;

/// <summary>
/// Parses JSON from a model file that may be hostile: valid UTF-8 only, bounded depth, no trailing content, every
/// string decodable, typed errors. Once a document comes out of here, reading its names and strings cannot throw.
/// </summary>
internal static class UntrustedJson
{
    /// <summary>Characters of raw JSON quoted in an error message; a hostile value could be megabytes long.</summary>
    private const int ExcerptChars = 60;

    /// <exception cref="ModelFormatException">
    /// The bytes are not UTF-8, not one well-formed JSON value within the depth limit, or hold a string with an
    /// unpaired surrogate escape.
    /// </exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> json, string source, int maxDepth)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(source, $"not valid JSON: {e.Message}", inner: e);
        }
        try
        {
            // System.Text.Json parses bytes that are not UTF-8 inside strings without complaint and only fails later,
            // with an InvalidOperationException, when such a string (or a property lookup passing over it) decodes it.
            // Outside strings such bytes are syntax errors already, so one check of the whole text covers the rest.
            if (!Utf8.IsValid(json.Span))
                throw new ModelFormatException(source, $"a string is not valid UTF-8 (bad byte sequence at offset {FirstInvalidUtf8(json.Span)}).");
            if (MayHoldSurrogateEscape(json.Span)) CheckStringsDecode(document.RootElement, source);
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>The raw JSON text of <paramref name="element"/> for an error message, cut short if long.</summary>
    public static string Excerpt(JsonElement element)
    {
        string raw = element.GetRawText();
        return raw.Length <= ExcerptChars ? raw : raw[..ExcerptChars] + "…";
    }

    /// <summary>
    /// Whether the text holds "\u" followed by D8..DF, the only way JSON can spell a UTF-16 surrogate (raw surrogate
    /// bytes are not UTF-8). Without one every string decodes, and the walk over the whole document (every name of a
    /// 50,000-token vocabulary) is skipped. An escaped backslash before "uD8.." only costs that walk.
    /// </summary>
    private static bool MayHoldSurrogateEscape(ReadOnlySpan<byte> json)
    {
        for (int at = json.IndexOf("\\u"u8); at >= 0; at = json.IndexOf("\\u"u8))
        {
            json = json[(at + 2)..];
            if (json.Length >= 2 && (json[0] | 0x20) == 'd' && (json[1] is >= (byte)'8' and <= (byte)'9' || (json[1] | 0x20) is >= 'a' and <= 'f'))
                return true;
        }
        return false;
    }

    /// <summary>
    /// An escaped lone surrogate ("\ud800") is valid JSON syntax but decodes to no string, so every name and string
    /// is decoded once here. The fault is reported against the top-level field (the tensor of a safetensors header).
    /// </summary>
    private static void CheckStringsDecode(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            if (FindUndecodable(root) is { } path)
                throw new ModelFormatException(source, $"the string at ${path} holds an unpaired UTF-16 surrogate escape.");
            return;
        }
        foreach (var property in root.EnumerateObject())
        {
            if (!TryGetName(property, out string name))
                throw new ModelFormatException(source, "a top-level name holds an unpaired UTF-16 surrogate escape.");
            if (FindUndecodable(property.Value) is { } path)
                throw new ModelFormatException(source, $"its value{path} holds an unpaired UTF-16 surrogate escape.", name);
        }
    }

    /// <summary>The JSON path (relative to <paramref name="element"/>) of the first string that does not decode, or null.</summary>
    private static string? FindUndecodable(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    element.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return "";
                }
            case JsonValueKind.Array:
                int index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindUndecodable(item) is { } below) return $"[{index}]{below}";
                    index++;
                }
                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (!TryGetName(property, out string name)) return ".<name>";
                    if (FindUndecodable(property.Value) is { } below) return $".{name}{below}";
                }
                return null;
            default:
                return null;
        }
    }

    private static bool TryGetName(JsonProperty property, out string name)
    {
        try
        {
            name = property.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length && Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) == OperationStatus.Done)
            offset += consumed;
        return offset;
    }
}
