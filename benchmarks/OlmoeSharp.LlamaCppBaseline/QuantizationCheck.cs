using OlmoeSharp.Checkpoints;
using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>
/// OlmoeSharp's quantizer against llama.cpp's on one checkpoint: the checkpoint exported as stored (bf16), quantized
/// by llama_model_quantize, and quantized by <c>olmoe quantize</c> from the folder; every metadata key compared by
/// type and value, every tensor by type and by bytes, block by block.
/// </summary>
internal static class QuantizationCheck
{
    private static string Short(string text) => text.Length > 80 ? text[..80] + "…" : text;

    /// <summary>Returns the number of tensors and metadata keys compared, and how many differ.</summary>
    public static (int Compared, int Mismatched) Run(string modelDirectory, string type, int threads, Action<string, string, string> quantizeWithLlamaCpp, Action<string> report)
    {
        string scratch = Path.Combine(Path.GetTempPath(), "olmoe-check-quantize-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        try
        {
            string stored = Path.Combine(scratch, "stored.gguf"), theirs = Path.Combine(scratch, "llama.gguf"), ours = Path.Combine(scratch, "olmoe.gguf");
            GgufExport.Write(modelDirectory, stored);
            quantizeWithLlamaCpp(stored, theirs, type);
            var fileType = Enum.Parse<GgufFileType>(type, ignoreCase: true);
            GgufExport.Write(modelDirectory, ours, new GgufExportOptions { FileType = fileType, Threads = threads });
            using var a = GgufFile.Open(ours);
            using var b = GgufFile.Open(theirs);
            int mismatched = 0;
            // llama.cpp keeps the stored file's keys and sets general.file_type and general.quantization_version.
            foreach (string key in a.MetadataKeys.Union(b.MetadataKeys))
            {
                string mine = a.TryGetValue(key, out var x) ? $"{x.TypeName} {System.Text.Json.JsonSerializer.Serialize(x.Value)}" : "absent";
                string other = b.TryGetValue(key, out var y) ? $"{y.TypeName} {System.Text.Json.JsonSerializer.Serialize(y.Value)}" : "absent";
                if (mine == other) continue;
                report($"metadata {key}: olmoe {Short(mine)}, llama.cpp {Short(other)}");
                mismatched++;
            }
            foreach (var tensor in b.Tensors)
            {
                if (!a.TryGetTensor(tensor.Name, out var mine))
                {
                    report($"{tensor.Name}: missing from olmoe's file");
                    mismatched++;
                    continue;
                }
                if (mine.Type != tensor.Type || !mine.Dimensions.SequenceEqual(tensor.Dimensions))
                {
                    report($"{tensor.Name}: olmoe {mine.Type} {mine.ShapeText}, llama.cpp {tensor.Type} {tensor.ShapeText}");
                    mismatched++;
                    continue;
                }
                GgmlTypeLayout.TryGet((uint)tensor.Type, out _, out _, out int blockBytes);
                var x = a.GetBytes(mine);
                var y = b.GetBytes(tensor);
                long blocks = y.Length / blockBytes, differing = 0;
                for (long i = 0; i < blocks; i++)
                    if (!x.Slice((int)(i * blockBytes), blockBytes).SequenceEqual(y.Slice((int)(i * blockBytes), blockBytes))) differing++;
                if (differing == 0) continue;
                report($"{tensor.Name} ({tensor.Type}): {differing} of {blocks} blocks differ");
                mismatched++;
            }
            if (a.Tensors.Count != b.Tensors.Count) mismatched++;
            return (b.Tensors.Count + b.MetadataKeys.Count, mismatched);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
