using OlmoeSharp.Tests.Hostile.Gguf;

namespace OlmoeSharp.Tests.Hostile.Gguf;

/// <summary>
/// OLMoE from GGUF files that are well formed as GGUF but wrong as a model: the architecture, the <c>olmoe.*</c> keys,
/// the tensors' names, dimensions and types. Each is refused by <see cref="OlmoeModel.Load(string, ModelLoadOptions?)"/>
/// with a <see cref="ModelFormatException"/> naming the file and the key or tensor; a valid file loads with the config
/// its keys say.
/// </summary>
public sealed class GgufModelTests
{
    private const int Vocab = 64, Hidden = 32, Inter = 32, Heads = 4, Experts = 2;

    /// <summary>A one-layer model, every tensor F32 (the bytes are a pattern: these tests load, they do not compute).</summary>
    internal static GgufBuilder TinyModel(Action<GgufBuilder>? metadata = null, Func<string, ulong[], (uint Type, ulong[] Dims)?>? tensor = null,
        bool withOutput = true, string? skip = null)
    {
        var b = new GgufBuilder();
        b.AddString("general.architecture", "olmoe");
        b.AddUInt32("olmoe.embedding_length", Hidden);
        b.AddUInt32("olmoe.feed_forward_length", Inter);
        b.AddUInt32("olmoe.block_count", 1);
        b.AddUInt32("olmoe.attention.head_count", Heads);
        b.AddUInt32("olmoe.attention.head_count_kv", Heads);
        b.AddUInt32("olmoe.expert_count", Experts);
        b.AddUInt32("olmoe.expert_used_count", 1);
        b.AddFloat32("olmoe.rope.freq_base", 10000);
        b.AddFloat32("olmoe.attention.layer_norm_rms_epsilon", 1e-5f);
        b.AddUInt32("olmoe.context_length", 128);
        b.AddUInt32("tokenizer.ggml.eos_token_id", 3);
        b.AddUInt32("tokenizer.ggml.bos_token_id", 3);
        metadata?.Invoke(b);
        void Add(string name, params ulong[] dims)
        {
            if (name == skip) return;
            var (type, actual) = tensor?.Invoke(name, dims) ?? (0u, dims);
            long elements = actual.Aggregate(1L, (p, d) => p * (long)d);
            int bytes = type switch
            {
                0 => (int)(elements * 4), 1 => (int)(elements * 2), 2 => (int)(elements / 32 * 18), 7 => (int)(elements / 32 * 24),
                8 => (int)(elements / 32 * 34), 12 => (int)(elements / 256 * 144), _ => (int)elements,
            };
            b.AddTensor(name, type, actual, bytes);
        }
        Add("token_embd.weight", Hidden, Vocab);
        Add("output_norm.weight", Hidden);
        if (withOutput) Add("output.weight", Hidden, Vocab);
        Add("blk.0.attn_norm.weight", Hidden);
        foreach (var p in new[] { "attn_q", "attn_k", "attn_v", "attn_output" }) Add($"blk.0.{p}.weight", Hidden, Hidden);
        Add("blk.0.attn_q_norm.weight", Hidden);
        Add("blk.0.attn_k_norm.weight", Hidden);
        Add("blk.0.ffn_norm.weight", Hidden);
        Add("blk.0.ffn_gate_inp.weight", Hidden, Experts);
        Add("blk.0.ffn_gate_exps.weight", Hidden, Inter, Experts);
        Add("blk.0.ffn_up_exps.weight", Hidden, Inter, Experts);
        Add("blk.0.ffn_down_exps.weight", Inter, Hidden, Experts);
        return b;
    }

    [Fact]
    public void A_valid_file_loads_with_the_config_its_keys_say()
    {
        using var dir = new TempDirectory();
        string path = TinyModel().WriteTo(Path.Combine(dir.Path, "m.gguf"));
        using var model = OlmoeModel.Load(path);
        var c = model.Config;
        Assert.Equal((Vocab, Hidden, Inter, 1, Heads, Heads, Experts, 1), (c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.NumExperts, c.NumExpertsPerToken));
        Assert.Equal(128, c.MaxPositionEmbeddings);
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.NormTopKProb);
        Assert.Equal([3], c.EosTokenIds);
        Assert.Null(c.BosTokenId); // written, but add_bos_token is not set: llama.cpp does not add it either
        Assert.Null(model.Tokenizer);
        Assert.Equal(path, model.Directory);
        Assert.Equal(WeightResidency.Mapped, model.Residency);
        Assert.Equal("auto → mapped: the GGUF file's weights as stored (f32)", model.ResidencyChoice);
    }

    [Fact]
    public void Without_an_output_tensor_the_lm_head_is_the_embedding_and_add_bos_gives_a_bos()
    {
        using var dir = new TempDirectory();
        string path = TinyModel(b => { b.AddBool("tokenizer.ggml.add_bos_token", true); b.AddBool("olmoe.expert_weights_norm", true); }, withOutput: false)
            .WriteTo(Path.Combine(dir.Path, "m.gguf"));
        using var model = OlmoeModel.Load(path);
        Assert.True(model.Config.TieWordEmbeddings);
        Assert.True(model.Config.NormTopKProb);
        Assert.Equal(3, model.Config.BosTokenId);
    }

    [Fact]
    public void Preloading_a_gguf_file_maps_it_and_says_so()
    {
        using var dir = new TempDirectory();
        string path = TinyModel().WriteTo(Path.Combine(dir.Path, "m.gguf"));
        using var model = OlmoeModel.Load(path, new ModelLoadOptions { Residency = WeightResidency.Preloaded });
        Assert.Equal(WeightResidency.Mapped, model.Residency);
        Assert.Contains("GGUF", model.ResidencyChoice);
    }

    public static TheoryData<string, string> BadMetadata() => new()
    {
        { "arch llama", "general.architecture" },
        { "no block_count", "olmoe.block_count" },
        { "block_count as string", "olmoe.block_count" },
        { "rope partial", "olmoe.rope.dimension_count" },
        { "key length", "olmoe.attention.key_length" },
        { "heads do not divide", "num_attention_heads" },
        { "top-k above experts", "num_experts_per_tok" },
        { "eos outside vocab", "eos_token_id" },
        { "epsilon as uint", "olmoe.attention.layer_norm_rms_epsilon" },
        { "huge context", "olmoe.context_length" },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void Bad_metadata_is_refused_naming_the_key(string fault, string item)
    {
        using var dir = new TempDirectory();
        var builder = fault switch
        {
            "arch llama" => Replace("general.architecture", b => b.AddString("general.architecture", "llama")),
            "no block_count" => Replace("olmoe.block_count", _ => { }),
            "block_count as string" => Replace("olmoe.block_count", b => b.AddString("olmoe.block_count", "1")),
            "rope partial" => TinyModel(b => b.AddUInt32("olmoe.rope.dimension_count", 4)),
            "key length" => TinyModel(b => b.AddUInt32("olmoe.attention.key_length", 16)),
            "heads do not divide" => Replace("olmoe.attention.head_count", b => b.AddUInt32("olmoe.attention.head_count", 5)),
            "top-k above experts" => Replace("olmoe.expert_used_count", b => b.AddUInt32("olmoe.expert_used_count", 3)),
            "eos outside vocab" => Replace("tokenizer.ggml.eos_token_id", b => b.AddUInt32("tokenizer.ggml.eos_token_id", Vocab)),
            "epsilon as uint" => Replace("olmoe.attention.layer_norm_rms_epsilon", b => b.AddUInt32("olmoe.attention.layer_norm_rms_epsilon", 1)),
            "huge context" => Replace("olmoe.context_length", b => b.AddRaw("olmoe.context_length", w => { w.Write(GgufBuilder.Uint64Type); w.Write(ulong.MaxValue); })),
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        string path = builder.WriteTo(Path.Combine(dir.Path, "m.gguf"));
        var error = Assert.Throws<ModelFormatException>(() => OlmoeModel.Load(path).Dispose());
        Assert.Equal(path, error.FilePath);
        Assert.Equal(item, error.Item);
    }

    public static TheoryData<string, string> BadTensors() => new()
    {
        { "missing q", "blk.0.attn_q.weight" },
        { "missing experts", "blk.0.ffn_up_exps.weight" },
        { "q transposed", "blk.0.attn_q.weight" },
        { "one expert short", "blk.0.ffn_down_exps.weight" },
        { "router of 3", "blk.0.ffn_gate_inp.weight" },
        { "vocab mismatch", "output.weight" },
    };

    [Theory]
    [MemberData(nameof(BadTensors))]
    public void Bad_tensors_are_refused_naming_the_tensor(string fault, string tensorName)
    {
        using var dir = new TempDirectory();
        var builder = fault switch
        {
            "missing q" => TinyModel(skip: "blk.0.attn_q.weight"),
            "missing experts" => TinyModel(skip: "blk.0.ffn_up_exps.weight"),
            "q transposed" => Change("blk.0.attn_q.weight", [Hidden, Hidden * 2]),
            "one expert short" => Change("blk.0.ffn_down_exps.weight", [Inter, Hidden, Experts - 1]),
            "router of 3" => Change("blk.0.ffn_gate_inp.weight", [Hidden, 3]),
            "vocab mismatch" => Change("output.weight", [Hidden, Vocab - 1]),
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        string path = builder.WriteTo(Path.Combine(dir.Path, "m.gguf"));
        var error = Assert.Throws<ModelFormatException>(() => OlmoeModel.Load(path).Dispose());
        Assert.Equal(path, error.FilePath);
        Assert.Equal(tensorName, error.Item);
    }

    [Fact]
    public void A_block_type_whose_blocks_do_not_fit_the_rows_is_refused_naming_the_tensor()
    {
        // Q4_K rows hold 256 values per block: a [32, 64] embedding cannot be Q4_K.
        using var dir = new TempDirectory();
        var builder = TinyModel(tensor: (name, dims) => name == "token_embd.weight" ? (12u, [256, Vocab / 8]) : null);
        string path = builder.WriteTo(Path.Combine(dir.Path, "m.gguf"));
        var error = Assert.Throws<ModelFormatException>(() => OlmoeModel.Load(path).Dispose());
        Assert.Equal("token_embd.weight", error.Item);
    }

    private static GgufBuilder Change(string name, ulong[] dims) => TinyModel(tensor: (n, _) => n == name ? (0u, dims) : null);

    /// <summary>The tiny model with metadata key <paramref name="key"/> removed, and <paramref name="add"/> written in its place.</summary>
    private static GgufBuilder Replace(string key, Action<GgufBuilder> add) => TinyModel(b => { b.RemoveEntry(key); add(b); });
}
