using System.Text.Json;
using OlmoeSharp.IO;

namespace OlmoeSharp.Loading;

/// <summary>
/// The <c>model.safetensors.index.json</c> of a sharded checkpoint: which shard file holds each tensor.
/// Shard names come from an untrusted file, so only plain file names inside the model folder are accepted.
/// </summary>
public sealed class SafeTensorsIndex
{
    /// <summary>The conventional file name of the index.</summary>
    public const string FileName = "model.safetensors.index.json";

    private const long MaxFileBytes = 64L << 20;

    private SafeTensorsIndex(IReadOnlyDictionary<string, string> weightMap) => WeightMap = weightMap;

    /// <summary>Tensor name → shard file name (relative to the model folder).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>The distinct shard file names, in first-seen order.</summary>
    public IReadOnlyList<string> ShardFiles => WeightMap.Values.Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Reads and validates an index file.</summary>
    /// <exception cref="ModelFormatException">Malformed JSON, a missing weight_map, or a shard name that is not a plain file name.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsIndex Load(string path)
    {
        return Parse(UntrustedFile.ReadAll(path, MaxFileBytes, "shard index"), path);
    }

    /// <summary>Parses index content; <paramref name="source"/> names it in errors.</summary>
    public static SafeTensorsIndex Parse(ReadOnlyMemory<byte> json, string source)
    {
        var document = UntrustedJson.Parse(json, source, maxDepth: 16);
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(source, "missing or non-object weight_map.", "weight_map");

            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new ModelFormatException(source, "shard name is not a string.", entry.Name);
                string shard = entry.Value.GetString()!;
                if (!IsPlainFileName(shard))
                    throw new ModelFormatException(source, $"shard \"{shard}\" is not a plain file name inside the model folder.", entry.Name);
                if (!weightMap.TryAdd(entry.Name, shard))
                    throw new ModelFormatException(source, "tensor is listed twice.", entry.Name);
            }
            if (weightMap.Count == 0) throw new ModelFormatException(source, "weight_map is empty.", "weight_map");
            return new SafeTensorsIndex(weightMap);
        }
    }

    private static bool IsPlainFileName(string name) =>
        name.Length is > 0 and <= 255
        && name is not "." and not ".."
        && name.IndexOfAny(['/', '\\', ':', '\0']) < 0
        && !Path.IsPathRooted(name);
}
