using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Checkpoints;

/// <summary>How <see cref="SafeTensorsExport.Write"/> writes a checkpoint.</summary>
public sealed record SafeTensorsExportOptions
{
    /// <summary>The type of every tensor: F32 (the source's values exactly) or BF16 (rounded to nearest even).</summary>
    public TensorDType DType { get; init; } = TensorDType.F32;

    /// <summary>Largest safetensors file before the checkpoint is sharded (5 GB, as Hugging Face's save_pretrained).</summary>
    public long MaxShardBytes { get; init; } = 5_000_000_000;

    /// <summary>Receives the number of tensor bytes written so far.</summary>
    public IProgress<long>? Progress { get; init; }
}

/// <summary>
/// Writes an OLMoE model — a GGUF file in any of its types, or a Hugging Face folder — as a Hugging Face checkpoint
/// of its weights in float32 or bfloat16: config.json, generation_config.json, model.safetensors (or shards and their
/// index) with the tensor names of allenai's checkpoints — one tensor per expert,
/// <c>model.layers.L.mlp.experts.E.{gate,up,down}_proj.weight</c> — and tokenizer.json (with tokenizer_config.json).
/// A quantized tensor is dequantized exactly as ggml's dequantizer does it (<see cref="Tensors.Formats.GgmlBlockFormat.DequantizeBlock"/>),
/// so an F32 export holds the values llama.cpp computes with, bit for bit. Streams row by row from the mapping.
/// </summary>
public static class SafeTensorsExport
{
    /// <summary>Writes <paramref name="modelPath"/> (.gguf or folder) into <paramref name="outputDirectory"/> (created if needed).</summary>
    /// <exception cref="ModelFormatException">The source is malformed or not an OLMoE model.</exception>
    public static void Write(string modelPath, string outputDirectory, SafeTensorsExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options ??= new SafeTensorsExportOptions();
        if (options.DType is not (TensorDType.F32 or TensorDType.BF16))
            throw new ArgumentOutOfRangeException(nameof(options), options.DType, "DType must be F32 or BF16.");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxShardBytes, 1, nameof(options));
        if (Path.GetFullPath(outputDirectory).TrimEnd('/') == Path.GetFullPath(modelPath).TrimEnd('/'))
            throw new ArgumentException($"{outputDirectory}: the output would overwrite the source.");
        using var source = ModelSource.Open(modelPath);
        var config = source.Config;
        var weights = WeightBinding.Bind(source.Tensors, config);
        var dtype = options.DType;

        var tensors = new List<TensorToWrite> { Matrix(TensorNames.Embeddings, weights.Embeddings, dtype) };
        for (int l = 0; l < weights.Layers.Length; l++)
        {
            var layer = weights.Layers[l];
            tensors.Add(Vector(TensorNames.InputNorm(l), layer.InputNorm, dtype));
            tensors.Add(Matrix(TensorNames.QProj(l), layer.Q, dtype));
            tensors.Add(Matrix(TensorNames.KProj(l), layer.K, dtype));
            tensors.Add(Matrix(TensorNames.VProj(l), layer.V, dtype));
            tensors.Add(Matrix(TensorNames.OProj(l), layer.O, dtype));
            tensors.Add(Vector(TensorNames.QNorm(l), layer.QNorm, dtype));
            tensors.Add(Vector(TensorNames.KNorm(l), layer.KNorm, dtype));
            tensors.Add(Vector(TensorNames.PostAttentionNorm(l), layer.PostAttentionNorm, dtype));
            tensors.Add(Matrix(TensorNames.Router(l), layer.Router, dtype));
            for (int e = 0; e < layer.Experts.Length; e++)
            {
                tensors.Add(Matrix(TensorNames.ExpertGate(l, e), layer.Experts[e].Gate, dtype));
                tensors.Add(Matrix(TensorNames.ExpertUp(l, e), layer.Experts[e].Up, dtype));
                tensors.Add(Matrix(TensorNames.ExpertDown(l, e), layer.Experts[e].Down, dtype));
            }
        }
        tensors.Add(Vector(TensorNames.FinalNorm, weights.FinalNorm, dtype));
        if (!config.TieWordEmbeddings) tensors.Add(Matrix(TensorNames.LmHead, weights.LmHead, dtype));

        Directory.CreateDirectory(outputDirectory);
        File.WriteAllText(Path.Combine(outputDirectory, "config.json"), config.ToJson(dtype));
        File.WriteAllText(Path.Combine(outputDirectory, "generation_config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["bos_token_id"] = config.BosTokenId,
            ["eos_token_id"] = config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null,
            ["pad_token_id"] = config.PadTokenId,
        }, new JsonSerializerOptions { WriteIndented = true }));
        WriteTokenizer(source, config, outputDirectory);
        long written = 0;
        ShardedCheckpointWriter.Write(outputDirectory, ShardedCheckpointWriter.SplitBySize(tensors, options.MaxShardBytes),
            n => { written += n; options.Progress?.Report(written); });
    }

    /// <summary>
    /// tokenizer.json: the folder's own, copied; or the GGUF file's tokenizer, without the unused "[PAD…]" tokens
    /// llama.cpp appends up to the embedding's rows (tokenizer.json lists only real tokens, as allenai's does).
    /// </summary>
    private static void WriteTokenizer(ModelSource source, OlmoeConfig config, string outputDirectory)
    {
        string target = Path.Combine(outputDirectory, OlmoeTokenizer.FileName);
        if (source.TokenizerJson is { } json)
        {
            File.Copy(json, target, overwrite: true);
            string tokenizerConfigPath = Path.Combine(Path.GetDirectoryName(json)!, "tokenizer_config.json");
            if (File.Exists(tokenizerConfigPath)) File.Copy(tokenizerConfigPath, Path.Combine(outputDirectory, "tokenizer_config.json"), overwrite: true);
            return;
        }
        if (source.Gguf is not { } gguf || !gguf.TryGetValue("tokenizer.ggml.tokens", out _)) return;
        var definition = GgufTokenizerReader.Read(gguf);
        var types = gguf.GetArray<int>("tokenizer.ggml.token_type");
        int used = definition.Tokens.Length;
        while (used > 0 && types[used - 1] == GgufTokenizerWriter.UnusedType) used--;
        used = Math.Max(used, 1 + definition.Merges.Select(m => Math.Max(Math.Max(m.Left, m.Right), m.Merged)).DefaultIfEmpty(-1).Max());
        used = Math.Max(used, 1 + definition.AddedTokens.Select(t => t.Id).DefaultIfEmpty(-1).Max());
        TokenizerJsonWriter.Write(target, definition with { Tokens = definition.Tokens[..used] });

        // tokenizer_config.json: what transformers needs to pick the tokenizer, and the chat template when the file has one.
        var tokenizerConfig = new Dictionary<string, object?>
        {
            ["add_bos_token"] = false,
            ["add_eos_token"] = false,
            ["bos_token"] = null,
            ["eos_token"] = config.EosTokenIds.Count > 0 && config.EosTokenIds[0] < used ? definition.Tokens[config.EosTokenIds[0]] : null,
            ["pad_token"] = config.PadTokenId is { } pad && pad < used ? definition.Tokens[pad] : null,
            ["clean_up_tokenization_spaces"] = true,
            ["model_max_length"] = config.MaxPositionEmbeddings,
            ["tokenizer_class"] = "GPTNeoXTokenizer",
        };
        if (gguf.TryGet<string>("tokenizer.chat_template", out var template)) tokenizerConfig["chat_template"] = template;
        File.WriteAllText(Path.Combine(outputDirectory, "tokenizer_config.json"), JsonSerializer.Serialize(tokenizerConfig, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>A matrix widened row by row (a quantized one dequantized) and written as <paramref name="dtype"/>.</summary>
    private static unsafe TensorToWrite Matrix(string name, WeightMatrix m, TensorDType dtype)
    {
        int cols = m.Cols;
        var row = new float[cols];
        int widened = -1;
        return new TensorToWrite(name, dtype, [m.Rows, cols], (span, byteOffset) =>
        {
            int size = dtype.SizeInBytes();
            long first = byteOffset / size;
            int count = span.Length / size;
            for (int i = 0; i < count;)
            {
                int r = (int)((first + i) / cols), c = (int)((first + i) % cols);
                if (r != widened)
                {
                    fixed (float* destination = row) m.Format.WidenRow(m, r, destination);
                    widened = r;
                }
                int n = Math.Min(cols - c, count - i);
                Store(row.AsSpan(c, n), span.Slice(i * size, n * size), dtype);
                i += n;
            }
        });
    }

    private static TensorToWrite Vector(string name, float[] values, TensorDType dtype) =>
        new(name, dtype, [values.Length], (span, byteOffset) =>
        {
            int size = dtype.SizeInBytes();
            Store(values.AsSpan((int)(byteOffset / size), span.Length / size), span, dtype);
        });

    private static void Store(ReadOnlySpan<float> values, Span<byte> destination, TensorDType dtype)
    {
        if (dtype == TensorDType.F32)
        {
            MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2 * i, 2), BFloat16Kernels.FromSingle(values[i]));
    }
}
