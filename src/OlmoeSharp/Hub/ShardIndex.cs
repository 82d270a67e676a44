using System.Text.Json;

namespace OlmoeSharp.Hub;

/// <summary>
/// Reads the shard names out of <c>model.safetensors.index.json</c>. The index comes from the network, so its names
/// are untrusted: one like <c>../../../.bashrc</c> would otherwise be downloaded or linked outside the snapshot.
/// </summary>
internal static class ShardIndex
{
    private const string ShardExtension = ".safetensors";

    /// <summary>The distinct shard files named in the index's <c>weight_map</c>, in order of first mention.</summary>
    /// <exception cref="ModelFormatException">The index is not JSON, lacks a <c>weight_map</c>, or names an unsafe or non-safetensors file.</exception>
    public static IReadOnlyList<string> ReadShardNames(string indexPath)
    {
        using var document = Parse(indexPath);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("weight_map", out var map)
            || map.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(indexPath, "expected a JSON object with a 'weight_map' object.", "weight_map");
        }

        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            var name = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : null;
            if (name is null || !IsPlainShardName(name))
            {
                throw new ModelFormatException(indexPath, $"the shard name {entry.Value.GetRawText()} is not a plain '*{ShardExtension}' file name; refusing it.", entry.Name);
            }
            if (seen.Add(name)) names.Add(name);
        }
        if (names.Count == 0) throw new ModelFormatException(indexPath, "'weight_map' names no shard.", "weight_map");
        return names;
    }

    // A plain name in the snapshot folder itself: no separator, no "..", not rooted, no drive or stream colon.
    private static bool IsPlainShardName(string name) =>
        name.EndsWith(ShardExtension, StringComparison.Ordinal)
        && name.Length > ShardExtension.Length
        && !name.Contains("..", StringComparison.Ordinal)
        && !Path.IsPathRooted(name)
        && name.IndexOfAny(['/', '\\', ':']) < 0
        && !name.Any(char.IsControl);

    private static JsonDocument Parse(string indexPath)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(indexPath, $"not valid JSON: {e.Message}", inner: e);
        }
    }
}
