using System.Text.Json;
using OlmoeSharp.IO;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// The chat-related fields of a Hugging Face tokenizer_config.json, read as an untrusted file: <c>chat_template</c>,
/// <c>bos_token</c>, <c>eos_token</c> (a string, or an AddedToken object with a <c>content</c> string) and
/// <c>add_bos_token</c>. Every field is optional; one of the wrong type is a <see cref="ModelFormatException"/> naming it.
/// </summary>
internal static class TokenizerConfigReader
{
    public const string FileName = "tokenizer_config.json";

    /// <summary>OLMoE's is under 10 KB; with a long template and many added tokens a genuine one stays far below this.</summary>
    public const long MaxFileBytes = 4L * 1024 * 1024;

    /// <summary>The fields that decide the chat format.</summary>
    /// <param name="ChatTemplate">The Jinja template, or null when there is none.</param>
    /// <param name="BosToken">The bos text, or null when absent or null.</param>
    /// <param name="EosToken">The eos text, or null when absent or null.</param>
    /// <param name="AddBosToken">The tokenizer prepends bos to every encoding, when the file says.</param>
    public sealed record Fields(string? ChatTemplate, string? BosToken, string? EosToken, bool? AddBosToken);

    /// <exception cref="ModelFormatException">The file is too big, not JSON, not an object, or a field has the wrong type.</exception>
    public static Fields Read(string path)
    {
        using var document = UntrustedJson.Parse(UntrustedFile.ReadAll(path, MaxFileBytes, FileName), path, maxDepth: 32);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, $"is {root.ValueKind}, not a JSON object.");
        return new Fields(ChatTemplate(root, path), Token(root, "bos_token", path), Token(root, "eos_token", path), Bool(root, "add_bos_token", path));
    }

    private static string? ChatTemplate(JsonElement root, string path)
    {
        if (!root.TryGetProperty("chat_template", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        // transformers also accepts a list of named templates; the one named "default" is what a chat uses.
        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in value.EnumerateArray())
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() == "default"
                    && item.TryGetProperty("template", out var template) && template.ValueKind == JsonValueKind.String)
                    return template.GetString();
            throw new ModelFormatException(path, "is a list of templates without one named \"default\" holding a string template.", "chat_template");
        }
        throw new ModelFormatException(path, $"is {value.ValueKind} ({UntrustedJson.Excerpt(value)}), not a string.", "chat_template");
    }

    private static string? Token(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            return content.GetString();
        throw new ModelFormatException(path, $"is {value.ValueKind} ({UntrustedJson.Excerpt(value)}), not a string or an object with a \"content\" string.", key);
    }

    private static bool? Bool(JsonElement root, string key, string path)
    {
        if (!root.TryGetProperty(key, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelFormatException(path, $"is {value.ValueKind} ({UntrustedJson.Excerpt(value)}), not true or false.", key),
        };
    }
}
