using OlmoeSharp.Model;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// An <see cref="OlmoeConfig"/> from a GGUF file's <c>olmoe.*</c> metadata, as llama.cpp's converter writes it. What
/// GGUF does not store is inferred as llama.cpp infers it: the vocabulary from <c>token_embd</c>, a tied LM head
/// from the absence of <c>output</c>, OLMoE's un-renormalised top-k unless <c>olmoe.expert_weights_norm</c> says
/// otherwise. Keys that would change the math in ways this engine does not implement (partial rotary, odd key or
/// value widths) are refused, naming the key.
/// </summary>
internal static class GgufConfigReader
{
    private const string Architecture = "olmoe";

    public static OlmoeConfig Read(GgufFile file)
    {
        string arch = file.TryGet<string>("general.architecture", out var a) ? a : throw Fault(file, "general.architecture", "is missing; expected \"olmoe\".");
        if (arch != Architecture)
            throw Fault(file, "general.architecture", $"is \"{arch}\"; only \"{Architecture}\" models are supported.");

        int heads = RequiredInt(file, "attention.head_count");
        int hidden = RequiredInt(file, "embedding_length");
        int vocab = file.TryGetTensor("token_embd.weight", out var embeddings) && embeddings.Dimensions.Count == 2
            ? ToInt(file, "token_embd.weight", embeddings.Dimensions[1])
            : RequiredInt(file, "vocab_size");
        bool addBos = file.TryGet<bool>("tokenizer.ggml.add_bos_token", out var add) && add;
        var config = new OlmoeConfig
        {
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = OptionalInt(file, "expert_feed_forward_length") ?? RequiredInt(file, "feed_forward_length"),
            NumHiddenLayers = RequiredInt(file, "block_count"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = OptionalInt(file, "attention.head_count_kv") ?? heads,
            NumExperts = RequiredInt(file, "expert_count"),
            NumExpertsPerToken = RequiredInt(file, "expert_used_count"),
            NormTopKProb = file.TryGet<bool>(Key("expert_weights_norm"), out var norm) && norm,
            ClipQkv = OptionalFloat(file, "attention.clamp_kqv"),
            RopeTheta = OptionalFloat(file, "rope.freq_base") ?? 10000f,
            RmsNormEps = OptionalFloat(file, "attention.layer_norm_rms_epsilon") ?? 1e-5f,
            MaxPositionEmbeddings = OptionalInt(file, "context_length") ?? 4096,
            TieWordEmbeddings = !file.TryGetTensor("output.weight", out _),
            EosTokenIds = OptionalInt(file, "tokenizer.ggml.eos_token_id", prefixed: false) is { } eos ? [eos] : [],
            PadTokenId = OptionalInt(file, "tokenizer.ggml.padding_token_id", prefixed: false),
            // llama.cpp writes OLMoE's bos id (= eos) but never adds it; only a file that asks for it gets one.
            BosTokenId = addBos ? OptionalInt(file, "tokenizer.ggml.bos_token_id", prefixed: false) : null,
        };
        config.Validate(file.FilePath);
        RequireWidth(file, "rope.dimension_count", config.HeadDim, "partial rotary embeddings are not supported");
        RequireWidth(file, "attention.key_length", config.HeadDim, "keys must be embedding_length / head_count wide");
        RequireWidth(file, "attention.value_length", config.HeadDim, "values must be embedding_length / head_count wide");
        return config;
    }

    private static string Key(string name) => $"{Architecture}.{name}";

    private static void RequireWidth(GgufFile file, string name, int headDim, string why)
    {
        if (OptionalInt(file, name) is { } width && width != headDim)
            throw Fault(file, Key(name), $"is {width}, head_dim is {headDim}: {why}.");
    }

    private static int RequiredInt(GgufFile file, string name) =>
        OptionalInt(file, name) ?? throw Fault(file, Key(name), "required metadata key is missing.");

    /// <summary>An integer key of any integer type (writers differ: uint32 is usual, some write int32 or uint64), range-checked.</summary>
    private static int? OptionalInt(GgufFile file, string name, bool prefixed = true)
    {
        string key = prefixed ? Key(name) : name;
        if (!file.TryGetValue(key, out var value)) return null;
        long? number = value.Value switch
        {
            byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, long v => v,
            ulong v => v <= long.MaxValue ? (long)v : null,
            _ => throw Fault(file, key, $"is {value.TypeName}; an integer is required."),
        };
        return ToInt(file, key, number ?? long.MaxValue);
    }

    private static int ToInt(GgufFile file, string key, long number) =>
        number is >= 0 and <= int.MaxValue ? (int)number : throw Fault(file, key, $"{number} is out of range.");

    private static float? OptionalFloat(GgufFile file, string name)
    {
        string key = Key(name);
        if (!file.TryGetValue(key, out var value)) return null;
        return value.Value switch
        {
            float v => v,
            double v => (float)v,
            _ => throw Fault(file, key, $"is {value.TypeName}; a float is required."),
        };
    }

    private static ModelFormatException Fault(GgufFile file, string key, string detail) => new(file.FilePath, detail, key);
}
