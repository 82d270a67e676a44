using System.Text.Json;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Checkpoints;

/// <summary>
/// The safetensors files of a checkpoint folder in Hugging Face's layout: one <c>model.safetensors</c>, or shards
/// <c>model-0000i-of-0000n.safetensors</c> with the <c>model.safetensors.index.json</c> that maps each tensor to its shard.
/// </summary>
internal static class ShardedCheckpointWriter
{
    private static readonly Dictionary<string, string> Metadata = new() { ["format"] = "pt" };

    public static void Write(string directory, IReadOnlyList<IReadOnlyList<TensorToWrite>> shards, Action<long>? onBytesWritten)
    {
        Directory.CreateDirectory(directory);
        if (shards.Count == 1)
        {
            SafeTensorsWriter.Write(Path.Combine(directory, CheckpointFiles.SingleFileName), shards[0], Metadata, onBytesWritten);
            return;
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensorsWriter.Write(Path.Combine(directory, name), shards[i], Metadata, onBytesWritten);
            foreach (var t in shards[i]) weightMap[t.Name] = name;
        }
        File.WriteAllText(Path.Combine(directory, SafeTensorsIndex.FileName), JsonSerializer.Serialize(new
        {
            metadata = new { total_size = shards.Sum(s => s.Sum(t => t.ByteCount)) },
            weight_map = weightMap,
        }, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Consecutive runs of tensors of at most <paramref name="maxShardBytes"/> each (a larger tensor is a shard of its own).</summary>
    public static List<IReadOnlyList<TensorToWrite>> SplitBySize(IReadOnlyList<TensorToWrite> tensors, long maxShardBytes)
    {
        var shards = new List<IReadOnlyList<TensorToWrite>>();
        var current = new List<TensorToWrite>();
        long bytes = 0;
        foreach (var tensor in tensors)
        {
            if (current.Count > 0 && bytes + tensor.ByteCount > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                bytes = 0;
            }
            current.Add(tensor);
            bytes += tensor.ByteCount;
        }
        if (current.Count > 0 || shards.Count == 0) shards.Add(current);
        return shards;
    }
}
