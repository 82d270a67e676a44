using System.Runtime.InteropServices;
using OlmoeSharp.Loading;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Checkpoints;

/// <summary>How <see cref="GgufExport.Write"/> writes a GGUF file.</summary>
public sealed record GgufExportOptions
{
    /// <summary>The file type (the tensor type mix); null keeps every matrix in its stored type (bf16 stays bf16).</summary>
    public GgufFileType? FileType { get; init; }

    /// <summary>Threads quantizing each tensor's rows; 0 (the default) means one per core.</summary>
    public int Threads { get; init; }

    /// <summary>The tokenizer.json to write; default: the source folder's, or the source GGUF file's own tokenizer.</summary>
    public string? TokenizerPath { get; init; }

    /// <summary><c>general.name</c>; default: the source's name.</summary>
    public string? Name { get; init; }

    /// <summary>Receives progress after each chunk of rows.</summary>
    public IProgress<GgufExportProgress>? Progress { get; init; }
}

/// <summary>Where <see cref="GgufExport.Write"/> is: tensor <paramref name="Tensor"/> (the <paramref name="TensorIndex"/>-th of <paramref name="TensorCount"/>) in <paramref name="Type"/>, <paramref name="BytesDone"/> of <paramref name="TotalBytes"/> written.</summary>
public sealed record GgufExportProgress(string Tensor, GgmlType Type, int TensorIndex, int TensorCount, long BytesDone, long TotalBytes);

/// <summary>
/// Writes an OLMoE model — a Hugging Face folder or a GGUF file — as a GGUF file llama.cpp loads (arch
/// <c>olmoe</c>): the config as <c>olmoe.*</c> keys, the tokenizer as <c>tokenizer.*</c> keys, experts stacked into
/// one 3-D tensor per projection (GGUF dimensions [cols, rows, experts]), norms and router F32, and every matrix in
/// the type <see cref="GgufQuantizationMix"/> gives it for the file type — quantized from float32 rows by ggml's
/// reference quantizers (<see cref="RowQuantizer"/>), row-parallel. Streams tensor by tensor from the mapped source,
/// a few MB of rows at a time, so memory stays small whatever the model's size. The file is written under a
/// temporary name and renamed when complete.
/// </summary>
public static class GgufExport
{
    private const int ChunkBytes = 4 << 20;
    private const int RowsPerTask = 16;

    /// <summary>Writes <paramref name="modelPath"/> (folder or .gguf) to <paramref name="outputPath"/>.</summary>
    /// <exception cref="ModelFormatException">The source is malformed or not an OLMoE model.</exception>
    /// <exception cref="NotSupportedException">The model uses what llama.cpp's olmoe graph cannot compute (norm_topk_prob, clip_qkv).</exception>
    public static void Write(string modelPath, string outputPath, GgufExportOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        options ??= new GgufExportOptions();
        if (options.Threads < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "Threads must be 0 (one per core) or more.");
        if (options.FileType is { } requested && !Enum.IsDefined(requested)) throw new ArgumentOutOfRangeException(nameof(options), requested, "unknown GGUF file type.");
        if (Path.GetFullPath(outputPath) == Path.GetFullPath(modelPath)) throw new ArgumentException($"{outputPath}: the output would overwrite the source.");
        using var source = ModelSource.Open(modelPath);
        var config = source.Config;
        if (config.NormTopKProb) throw new NotSupportedException("llama.cpp's olmoe graph does not renormalise the top-k weights (norm_topk_prob=true).");
        if (config.ClipQkv is not null) throw new NotSupportedException("llama.cpp's olmoe graph has no clip_qkv.");
        var weights = WeightBinding.Bind(source.Tensors, config);

        var gguf = new GgufWriter();
        AddConfig(gguf, config, options.Name ?? source.Name);
        if (options.TokenizerPath is { } tokenizer) GgufTokenizerWriter.Add(gguf, tokenizer, config);
        else if (source.Gguf is { } file) GgufTokenizerWriter.Copy(gguf, file);
        else if (source.TokenizerJson is { } json) GgufTokenizerWriter.Add(gguf, json, config);
        else throw new FileNotFoundException($"{modelPath}: no {OlmoeTokenizer.FileName}; llama.cpp needs the tokenizer in the file (give one with TokenizerPath / --tokenizer).");

        var plan = new Plan(options.FileType, config);
        plan.Add(TensorKind.TokenEmbedding, -1, weights.Embeddings);
        for (int l = 0; l < weights.Layers.Length; l++)
        {
            var layer = weights.Layers[l];
            plan.Add(TensorKind.AttentionNorm, l, layer.InputNorm);
            plan.Add(TensorKind.AttentionQ, l, layer.Q);
            plan.Add(TensorKind.AttentionK, l, layer.K);
            plan.Add(TensorKind.AttentionV, l, layer.V);
            plan.Add(TensorKind.AttentionOutput, l, layer.O);
            plan.Add(TensorKind.AttentionQNorm, l, layer.QNorm);
            plan.Add(TensorKind.AttentionKNorm, l, layer.KNorm);
            plan.Add(TensorKind.FfnNorm, l, layer.PostAttentionNorm);
            plan.Add(TensorKind.Router, l, layer.Router);
            plan.Add(TensorKind.ExpertGate, l, [.. layer.Experts.Select(e => e.Gate)]);
            plan.Add(TensorKind.ExpertUp, l, [.. layer.Experts.Select(e => e.Up)]);
            plan.Add(TensorKind.ExpertDown, l, [.. layer.Experts.Select(e => e.Down)]);
        }
        plan.Add(TensorKind.OutputNorm, -1, weights.FinalNorm);
        // llama.cpp's olmoe graph always reads an output matrix: a tied model gets a copy of the embeddings.
        plan.Add(TensorKind.Output, -1, weights.LmHead);

        bool quantized = plan.Tensors.Any(t => t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16));
        if (quantized) gguf.Add("general.quantization_version", 2u);
        if (FileTypeOf(options.FileType, plan, source.Gguf) is { } fileType) gguf.Add("general.file_type", fileType);

        int threads = options.Threads == 0 ? Environment.ProcessorCount : options.Threads;
        long total = plan.Tensors.Sum(t => t.ByteLength), done = 0;
        for (int i = 0; i < plan.Tensors.Count; i++)
        {
            var tensor = plan.Tensors[i];
            int index = i;
            gguf.Add(new GgufTensorToWrite(tensor.Name, tensor.Dims, tensor.Type, tensor.ByteLength, stream => tensor.Write(stream, threads, cancellationToken, bytes =>
            {
                done += bytes;
                options.Progress?.Report(new GgufExportProgress(tensor.Name, tensor.Type, index, plan.Tensors.Count, done, total));
            })));
        }

        string partial = outputPath + ".partial";
        try
        {
            gguf.Write(partial);
            File.Move(partial, outputPath, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    private static void AddConfig(GgufWriter gguf, OlmoeConfig config, string name)
    {
        gguf.Add("general.architecture", "olmoe");
        gguf.Add("general.type", "model");
        gguf.Add("general.name", name);
        gguf.Add("olmoe.vocab_size", (uint)config.VocabSize);
        gguf.Add("olmoe.context_length", (uint)config.MaxPositionEmbeddings);
        gguf.Add("olmoe.embedding_length", (uint)config.HiddenSize);
        gguf.Add("olmoe.block_count", (uint)config.NumHiddenLayers);
        gguf.Add("olmoe.feed_forward_length", (uint)config.IntermediateSize);
        gguf.Add("olmoe.attention.head_count", (uint)config.NumAttentionHeads);
        gguf.Add("olmoe.attention.head_count_kv", (uint)config.NumKeyValueHeads);
        gguf.Add("olmoe.rope.dimension_count", (uint)config.HeadDim);
        gguf.Add("olmoe.rope.freq_base", config.RopeTheta);
        gguf.Add("olmoe.attention.layer_norm_rms_epsilon", config.RmsNormEps);
        gguf.Add("olmoe.expert_count", (uint)config.NumExperts);
        gguf.Add("olmoe.expert_used_count", (uint)config.NumExpertsPerToken);
    }

    /// <summary>general.file_type: the requested one; kept stored, the source GGUF's, or the float type all matrices share.</summary>
    private static uint? FileTypeOf(GgufFileType? requested, Plan plan, GgufFile? source)
    {
        if (requested is { } type) return (uint)type;
        if (source is not null && source.TryGetValue("general.file_type", out var stored) && stored.Value is uint number) return number;
        var matrixTypes = plan.Tensors.Where(t => t.Parts is not null && t.Kind != TensorKind.Router).Select(t => t.Type).Distinct().ToList();
        return matrixTypes is [GgmlType.F32] ? (uint)GgufFileType.F32
            : matrixTypes is [GgmlType.F16] ? (uint)GgufFileType.F16
            : matrixTypes is [GgmlType.BF16] ? (uint)GgufFileType.BF16
            : null;
    }

    /// <summary>The tensors to write, in file order, each with its type.</summary>
    private sealed class Plan(GgufFileType? fileType, OlmoeConfig config)
    {
        public List<PlannedTensor> Tensors { get; } = [];

        public void Add(TensorKind kind, int layer, float[] values) =>
            Tensors.Add(new PlannedTensor(kind, GgufTensorNames.Of(kind, layer), [(ulong)values.Length], GgmlType.F32, values, null));

        public void Add(TensorKind kind, int layer, params WeightMatrix[] parts)
        {
            var first = parts[0];
            if (parts.Any(p => p.Cols != first.Cols || p.Rows != first.Rows)) throw new InvalidOperationException($"{GgufTensorNames.Of(kind, layer)}: parts differ in shape.");
            var type = fileType is { } requested
                ? GgufQuantizationMix.TypeOf(requested, kind, layer, first.Cols, config)
                : kind == TensorKind.Router ? GgmlType.F32 : StoredType(first);
            ulong[] dims = parts.Length == 1 ? [(ulong)first.Cols, (ulong)first.Rows] : [(ulong)first.Cols, (ulong)first.Rows, (ulong)parts.Length];
            Tensors.Add(new PlannedTensor(kind, GgufTensorNames.Of(kind, layer), dims, type, null, parts));
        }

        /// <summary>The GGUF type of a matrix's stored format (F32 for formats GGUF has no type for).</summary>
        private static GgmlType StoredType(in WeightMatrix m) => GgmlTypeLayout.TryGetType(m.Format, out var type) ? type : GgmlType.F32;
    }

    /// <summary>One tensor: a vector of floats (norms) or rows from one or more matrices (stacked experts), written as <see cref="Type"/>.</summary>
    private sealed unsafe record PlannedTensor(TensorKind Kind, string Name, ulong[] Dims, GgmlType Type, float[]? Vector, WeightMatrix[]? Parts)
    {
        private WeightFormat Target => GgmlTypeLayout.Format(Type);

        public long ByteLength => Vector is not null ? Vector.LongLength * sizeof(float) : Parts!.Length * Parts[0].Rows * Target.RowBytes(Parts[0].Cols);

        public void Write(Stream stream, int threads, CancellationToken cancellationToken, Action<long> onBytes)
        {
            if (Vector is not null)
            {
                stream.Write(MemoryMarshal.AsBytes(Vector.AsSpan()));
                onBytes(ByteLength);
                return;
            }
            var target = Target;
            int cols = Parts![0].Cols;
            long rowBytes = target.RowBytes(cols);
            int chunkRows = (int)Math.Max(1, ChunkBytes / rowBytes);
            byte* buffer = (byte*)NativeMemory.Alloc((nuint)(chunkRows * rowBytes));
            try
            {
                foreach (var part in Parts)
                {
                    for (int start = 0; start < part.Rows; start += chunkRows)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        int count = Math.Min(chunkRows, part.Rows - start);
                        long bytes = count * rowBytes;
                        if (part.Format == target && part.Format.RowsAreSelfContained)
                            stream.Write(new ReadOnlySpan<byte>(part.Row(start), (int)bytes));
                        else
                        {
                            Quantize(part, start, count, target, buffer, threads);
                            stream.Write(new ReadOnlySpan<byte>(buffer, (int)bytes));
                        }
                        onBytes(bytes);
                    }
                    // The source rows are done: drop their pages from this process (they stay in the page cache).
                    MemoryAdvice.ReleaseMappedPages(part.Data, (nuint)part.SizeInBytes);
                }
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }

        /// <summary>Rows [start, start + count) of <paramref name="part"/>, widened to float32 and written in <paramref name="target"/> to <paramref name="buffer"/>, on <paramref name="threads"/> threads.</summary>
        private static void Quantize(WeightMatrix part, int start, int count, WeightFormat target, byte* buffer, int threads)
        {
            var quantizer = RowQuantizers.For(target);
            int cols = part.Cols;
            long rowBytes = target.RowBytes(cols);
            nint output = (nint)buffer;
            int tasks = (count + RowsPerTask - 1) / RowsPerTask;
            Parallel.For(0, tasks, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new float[cols], (task, _, row) =>
            {
                fixed (float* x = row)
                {
                    int end = Math.Min(count, (task + 1) * RowsPerTask);
                    for (int r = task * RowsPerTask; r < end; r++)
                    {
                        part.Format.WidenRow(part, start + r, x);
                        quantizer.QuantizeRow(x, (byte*)output + r * rowBytes, cols);
                    }
                }
                return row;
            }, _ => { });
        }
    }
}
