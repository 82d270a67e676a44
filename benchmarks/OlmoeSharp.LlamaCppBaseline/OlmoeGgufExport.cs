using System.Runtime.InteropServices;
using System.Text.Json;
using OlmoeSharp.Loading;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>
/// Converts an OLMoE safetensors checkpoint (per-expert layout) into a GGUF file llama.cpp loads as arch <c>olmoe</c>,
/// following the layout in the project's spec: matrices keep their dtype and bytes (HF [out, in] row-major is GGUF
/// dims {in, out}), experts are stacked into one 3-D tensor per kind, norms and the router are stored F32.
/// </summary>
internal static class OlmoeGgufExport
{
    public static void Export(string modelDirectory, string tokenizerPath, string outputPath)
    {
        var config = OlmoeConfig.Load(Path.Combine(modelDirectory, "config.json"));
        using var checkpoint = OpenTensors(modelDirectory);
        var gguf = new GgufWriter();
        gguf.Add("general.architecture", "olmoe");
        gguf.Add("general.name", Path.GetFileName(Path.GetFullPath(modelDirectory)));
        gguf.Add("olmoe.context_length", (uint)config.MaxPositionEmbeddings);
        gguf.Add("olmoe.embedding_length", (uint)config.HiddenSize);
        gguf.Add("olmoe.block_count", (uint)config.NumHiddenLayers);
        gguf.Add("olmoe.feed_forward_length", (uint)config.IntermediateSize);
        gguf.Add("olmoe.attention.head_count", (uint)config.NumAttentionHeads);
        gguf.Add("olmoe.attention.head_count_kv", (uint)config.NumKeyValueHeads);
        gguf.Add("olmoe.attention.layer_norm_rms_epsilon", config.RmsNormEps);
        gguf.Add("olmoe.rope.freq_base", config.RopeTheta);
        gguf.Add("olmoe.expert_count", (uint)config.NumExperts);
        gguf.Add("olmoe.expert_used_count", (uint)config.NumExpertsPerToken);
        if (config.NormTopKProb) throw new NotSupportedException("llama.cpp's olmoe graph does not renormalise the top-k weights (norm_topk_prob=true).");
        if (config.ClipQkv is not null) throw new NotSupportedException("llama.cpp's olmoe graph has no clip_qkv.");
        AddTokenizer(gguf, tokenizerPath, config);

        gguf.Add(Matrix(checkpoint, "token_embd.weight", TensorNames.Embeddings));
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            string block = $"blk.{layer}.";
            gguf.Add(Float32(checkpoint, block + "attn_norm.weight", TensorNames.InputNorm(layer)));
            gguf.Add(Matrix(checkpoint, block + "attn_q.weight", TensorNames.QProj(layer)));
            gguf.Add(Matrix(checkpoint, block + "attn_k.weight", TensorNames.KProj(layer)));
            gguf.Add(Matrix(checkpoint, block + "attn_v.weight", TensorNames.VProj(layer)));
            gguf.Add(Matrix(checkpoint, block + "attn_output.weight", TensorNames.OProj(layer)));
            gguf.Add(Float32(checkpoint, block + "attn_q_norm.weight", TensorNames.QNorm(layer)));
            gguf.Add(Float32(checkpoint, block + "attn_k_norm.weight", TensorNames.KNorm(layer)));
            gguf.Add(Float32(checkpoint, block + "ffn_norm.weight", TensorNames.PostAttentionNorm(layer)));
            gguf.Add(Float32(checkpoint, block + "ffn_gate_inp.weight", TensorNames.Router(layer)));
            gguf.Add(Experts(checkpoint, block + "ffn_gate_exps.weight", config.NumExperts, e => TensorNames.ExpertGate(layer, e)));
            gguf.Add(Experts(checkpoint, block + "ffn_up_exps.weight", config.NumExperts, e => TensorNames.ExpertUp(layer, e)));
            gguf.Add(Experts(checkpoint, block + "ffn_down_exps.weight", config.NumExperts, e => TensorNames.ExpertDown(layer, e)));
        }
        gguf.Add(Float32(checkpoint, "output_norm.weight", TensorNames.FinalNorm));
        // llama.cpp's olmoe graph always reads an output matrix: a tied checkpoint gets a copy of the embeddings.
        gguf.Add(Matrix(checkpoint, "output.weight", checkpoint.Contains(TensorNames.LmHead) ? TensorNames.LmHead : TensorNames.Embeddings));
        gguf.Write(outputPath);
    }

    private static TensorSet OpenTensors(string directory)
    {
        string single = Path.Combine(directory, "model.safetensors");
        if (File.Exists(single)) return new TensorSet([SafeTensorsFile.Open(single)]);
        var index = SafeTensorsIndex.Load(Path.Combine(directory, SafeTensorsIndex.FileName));
        return new TensorSet(index.ShardFiles.Select(f => SafeTensorsFile.Open(Path.Combine(directory, f))).ToList());
    }

    private static GgufTensorToWrite Matrix(TensorSet checkpoint, string name, string source)
    {
        var (file, tensor) = checkpoint.Find(source);
        if (tensor.Shape.Count != 2) throw new InvalidDataException($"{source}: expected a matrix, found {tensor.ShapeText}.");
        return new GgufTensorToWrite(name, [(ulong)tensor.Shape[1], (ulong)tensor.Shape[0]], TypeOf(tensor), tensor.DataEnd - tensor.DataStart,
            stream => stream.Write(file.GetBytes(tensor)));
    }

    private static GgufTensorToWrite Experts(TensorSet checkpoint, string name, int experts, Func<int, string> source)
    {
        var parts = Enumerable.Range(0, experts).Select(e => checkpoint.Find(source(e))).ToList();
        var first = parts[0].Tensor;
        if (parts.Any(p => p.Tensor.DType != first.DType || !p.Tensor.Shape.SequenceEqual(first.Shape)))
            throw new InvalidDataException($"{name}: experts differ in dtype or shape.");
        long bytes = parts.Sum(p => p.Tensor.DataEnd - p.Tensor.DataStart);
        return new GgufTensorToWrite(name, [(ulong)first.Shape[1], (ulong)first.Shape[0], (ulong)experts], TypeOf(first), bytes,
            stream => { foreach (var (file, tensor) in parts) stream.Write(file.GetBytes(tensor)); });
    }

    private static GgufTensorToWrite Float32(TensorSet checkpoint, string name, string source)
    {
        var (file, tensor) = checkpoint.Find(source);
        var values = new float[tensor.ElementCount];
        var bytes = file.GetBytes(tensor);
        switch (tensor.DType)
        {
            case TensorDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values); break;
            case TensorDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < values.Length; i++) values[i] = (float)halves[i];
                break;
            case TensorDType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < values.Length; i++) values[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
            default: throw new InvalidDataException($"{source}: unsupported dtype {tensor.DType}.");
        }
        var dims = tensor.Shape.Reverse().Select(d => (ulong)d).ToArray();
        return new GgufTensorToWrite(name, dims, GgmlType.F32, values.LongLength * 4, stream => stream.Write(MemoryMarshal.AsBytes(values.AsSpan())));
    }

    private static GgmlType TypeOf(TensorInfo tensor) => tensor.DType switch
    {
        TensorDType.BF16 => GgmlType.BF16,
        TensorDType.F16 => GgmlType.F16,
        TensorDType.F32 => GgmlType.F32,
        _ => throw new InvalidDataException($"{tensor.Name}: unsupported dtype {tensor.DType}."),
    };

    /// <summary>The byte-level BPE vocabulary and merges of tokenizer.json, padded to the model's vocab size.</summary>
    private static void AddTokenizer(GgufWriter gguf, string tokenizerPath, OlmoeConfig config)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(tokenizerPath));
        var model = document.RootElement.GetProperty("model");
        var tokens = new string?[config.VocabSize];
        var types = new int[config.VocabSize];
        const int normal = 1, control = 3, userDefined = 4, unused = 5;
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            if (id < tokens.Length) { tokens[id] = entry.Name; types[id] = normal; }
        }
        foreach (var added in document.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            int id = added.GetProperty("id").GetInt32();
            if (id >= tokens.Length) continue;
            tokens[id] = added.GetProperty("content").GetString();
            types[id] = added.GetProperty("special").GetBoolean() ? control : userDefined;
        }
        for (int id = 0; id < tokens.Length; id++)
        {
            if (tokens[id] is not null) continue;
            tokens[id] = $"[PAD{id}]";
            types[id] = unused;
        }
        var merges = model.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!)
            .ToList();
        gguf.Add("tokenizer.ggml.model", "gpt2");
        gguf.Add("tokenizer.ggml.pre", "olmo");
        gguf.Add("tokenizer.ggml.tokens", tokens!);
        gguf.Add("tokenizer.ggml.token_type", types);
        gguf.Add("tokenizer.ggml.merges", merges);
        if (config.EosTokenIds.Count > 0) gguf.Add("tokenizer.ggml.eos_token_id", (uint)config.EosTokenIds[0]);
        if (config.PadTokenId is { } pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", false);
    }

    /// <summary>The shards of a checkpoint, looked up by tensor name.</summary>
    private sealed class TensorSet(IReadOnlyList<SafeTensorsFile> files) : IDisposable
    {
        public bool Contains(string name) => files.Any(f => f.Tensors.ContainsKey(name));

        public (SafeTensorsFile File, TensorInfo Tensor) Find(string name)
        {
            foreach (var file in files)
                if (file.Tensors.TryGetValue(name, out var tensor)) return (file, tensor);
            throw new InvalidDataException($"tensor {name} not found (only the per-expert layout is exported).");
        }

        public void Dispose()
        {
            foreach (var file in files) file.Dispose();
        }
    }
}
