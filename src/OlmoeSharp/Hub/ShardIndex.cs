using OlmoeSharp.Loading;

namespace OlmoeSharp.Hub;

/// <summary>
/// The shard names of a downloaded <c>model.safetensors.index.json</c>. Parsing and the plain-file-name rule are the
/// loader's (<see cref="SafeTensorsIndex"/>); the hub adds that a name must be a <c>*.safetensors</c> file without
/// control characters, since it becomes a download URL and a file in the cache.
/// </summary>
internal static class ShardIndex
{
    private const string ShardExtension = ".safetensors";

    /// <summary>The distinct shard files named in the index's <c>weight_map</c>, in order of first mention.</summary>
    /// <exception cref="ModelFormatException">The index is malformed or names an unsafe or non-safetensors file.</exception>
    public static IReadOnlyList<string> ReadShardNames(string indexPath)
    {
        var index = SafeTensorsIndex.Load(indexPath);
        foreach (var (tensor, shard) in index.WeightMap)
        {
            if (!shard.EndsWith(ShardExtension, StringComparison.Ordinal) || shard.Length == ShardExtension.Length || shard.Any(char.IsControl))
                throw new ModelFormatException(indexPath, $"the shard name \"{shard}\" is not a plain '*{ShardExtension}' file name; refusing it.", tensor);
        }
        return index.ShardFiles;
    }
}
