using System.Text.Json;
using OlmoeSharp.IO;

namespace OlmoeSharp.Model;

/// <summary>
/// The hyper-parameters of an OLMoE checkpoint, named after the fields of its config.json. Parsed and validated by
/// <see cref="Load"/>; every instance is internally consistent.
/// </summary>
public sealed record OlmoeConfig
{
    /// <summary>Rows of the embedding and LM head (50304 for OLMoE-1B-7B; ids from 50280 are padding).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Width of the residual stream, d.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>Width of one expert's MLP.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Decoder layers.</summary>
    public required int NumHiddenLayers { get; init; }
    /// <summary>Query heads.</summary>
    public required int NumAttentionHeads { get; init; }
    /// <summary>Key/value heads (equal to <see cref="NumAttentionHeads"/> unless grouped-query attention).</summary>
    public required int NumKeyValueHeads { get; init; }
    /// <summary>Experts per layer.</summary>
    public required int NumExperts { get; init; }
    /// <summary>Experts each token is routed to.</summary>
    public required int NumExpertsPerToken { get; init; }
    /// <summary>Whether the top-k router weights are renormalised to sum to one (false for OLMoE).</summary>
    public bool NormTopKProb { get; init; }
    /// <summary>If set, q, k and v are clamped to [-ClipQkv, ClipQkv] after the q/k norms.</summary>
    public float? ClipQkv { get; init; }
    /// <summary>RoPE base θ.</summary>
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>RMSNorm epsilon.</summary>
    public float RmsNormEps { get; init; } = 1e-5f;
    /// <summary>Longest sequence the model was trained for; the KV cache never grows past it.</summary>
    public int MaxPositionEmbeddings { get; init; } = 4096;
    /// <summary>Whether the LM head shares the embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>End-of-sequence token ids (50279 for OLMoE).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>Padding token id, if any.</summary>
    public int? PadTokenId { get; init; }
    /// <summary>Beginning-of-sequence token id, if any (none for OLMoE).</summary>
    public int? BosTokenId { get; init; }

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Width of the key (and value) projection: kv heads × head_dim.</summary>
    public int KeyValueSize => NumKeyValueHeads * HeadDim;

    /// <summary>The config of the released OLMoE-1B-7B-0924 models.</summary>
    public static OlmoeConfig Olmoe1B7B { get; } = new()
    {
        VocabSize = 50304,
        HiddenSize = 2048,
        IntermediateSize = 1024,
        NumHiddenLayers = 16,
        NumAttentionHeads = 16,
        NumKeyValueHeads = 16,
        NumExperts = 64,
        NumExpertsPerToken = 8,
        EosTokenIds = [50279],
        PadTokenId = 1,
    };

    /// <summary>Reads and validates a config.json.</summary>
    /// <exception cref="ModelFormatException">The file is malformed, not an OLMoE config, or inconsistent.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static OlmoeConfig Load(string configPath)
    {
        return Parse(UntrustedFile.ReadAll(configPath, ConfigJsonReader.MaxFileBytes, "config.json"), configPath);
    }

    /// <summary>Parses and validates config.json content; <paramref name="sourceName"/> names it in errors.</summary>
    public static OlmoeConfig Parse(ReadOnlyMemory<byte> json, string sourceName)
    {
        using var reader = ConfigJsonReader.Open(json, sourceName);
        string? modelType = reader.OptionalString("model_type");
        if (modelType != "olmoe")
            throw new ModelFormatException(sourceName, modelType is null
                ? "no model_type; expected \"olmoe\"."
                : $"model_type is \"{modelType}\"; only \"olmoe\" models are supported.", "model_type");

        int heads = reader.RequiredInt("num_attention_heads");
        var config = new OlmoeConfig
        {
            VocabSize = reader.RequiredInt("vocab_size"),
            HiddenSize = reader.RequiredInt("hidden_size"),
            IntermediateSize = reader.RequiredInt("intermediate_size"),
            NumHiddenLayers = reader.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = reader.OptionalInt("num_key_value_heads") ?? heads,
            NumExperts = reader.RequiredInt("num_experts"),
            NumExpertsPerToken = reader.RequiredInt("num_experts_per_tok"),
            NormTopKProb = reader.OptionalBool("norm_topk_prob") ?? false,
            ClipQkv = reader.OptionalFloat("clip_qkv"),
            RopeTheta = reader.RopeTheta() ?? 10000f,
            RmsNormEps = reader.OptionalFloat("rms_norm_eps") ?? 1e-5f,
            MaxPositionEmbeddings = reader.OptionalInt("max_position_embeddings") ?? 4096,
            TieWordEmbeddings = reader.OptionalBool("tie_word_embeddings") ?? false,
            EosTokenIds = reader.OptionalIntOrIntArray("eos_token_id"),
            PadTokenId = reader.OptionalInt("pad_token_id"),
            BosTokenId = reader.OptionalInt("bos_token_id"),
        };
        reader.RejectUnsupported();
        config.Validate(sourceName);
        return config;
    }

    /// <summary>Checks that the sizes are positive, bounded and consistent with one another.</summary>
    /// <exception cref="ModelFormatException">They are not.</exception>
    public void Validate(string sourceName)
    {
        void Require(bool ok, string field, string detail)
        {
            if (!ok) throw new ModelFormatException(sourceName, detail, field);
        }

        // Upper bounds keep a hostile config from asking for absurd buffers before any tensor is checked.
        Require(VocabSize is > 0 and <= 4_000_000, "vocab_size", $"must be in [1, 4000000]; it is {VocabSize}.");
        Require(HiddenSize is > 0 and <= 65_536, "hidden_size", $"must be in [1, 65536]; it is {HiddenSize}.");
        Require(IntermediateSize is > 0 and <= 262_144, "intermediate_size", $"must be in [1, 262144]; it is {IntermediateSize}.");
        Require(NumHiddenLayers is > 0 and <= 1024, "num_hidden_layers", $"must be in [1, 1024]; it is {NumHiddenLayers}.");
        Require(NumAttentionHeads is > 0 and <= 4096, "num_attention_heads", $"must be in [1, 4096]; it is {NumAttentionHeads}.");
        Require(HiddenSize % NumAttentionHeads == 0, "num_attention_heads", $"{NumAttentionHeads} heads do not divide hidden_size {HiddenSize}.");
        Require(HeadDim % 2 == 0, "num_attention_heads", $"head_dim {HeadDim} must be even for rotary embeddings.");
        Require(NumKeyValueHeads > 0, "num_key_value_heads", $"must be positive; it is {NumKeyValueHeads}.");
        Require(NumAttentionHeads % NumKeyValueHeads == 0, "num_key_value_heads", $"{NumKeyValueHeads} key/value heads do not divide {NumAttentionHeads} attention heads.");
        Require(NumExperts is > 0 and <= 4096, "num_experts", $"must be in [1, 4096]; it is {NumExperts}.");
        Require(NumExpertsPerToken > 0, "num_experts_per_tok", $"must be positive; it is {NumExpertsPerToken}.");
        Require(NumExpertsPerToken <= NumExperts, "num_experts_per_tok", $"top-k {NumExpertsPerToken} exceeds num_experts {NumExperts}.");
        Require(ClipQkv is null || (float.IsFinite(ClipQkv.Value) && ClipQkv > 0), "clip_qkv", $"must be a positive number or null; it is {ClipQkv}.");
        Require(float.IsFinite(RopeTheta) && RopeTheta > 0, "rope_theta", $"must be a positive number; it is {RopeTheta}.");
        Require(float.IsFinite(RmsNormEps) && RmsNormEps >= 0, "rms_norm_eps", $"must be a non-negative number; it is {RmsNormEps}.");
        Require(MaxPositionEmbeddings is > 0 and <= 1 << 20, "max_position_embeddings", $"must be in [1, 1048576]; it is {MaxPositionEmbeddings}.");
        foreach (int eos in EosTokenIds)
            Require(eos >= 0 && eos < VocabSize, "eos_token_id", $"{eos} is outside the vocabulary [0, {VocabSize}).");
        // Token ids are used as indices (into the embeddings, the logits); one outside the vocabulary is refused here.
        Require(PadTokenId is null || (PadTokenId >= 0 && PadTokenId < VocabSize), "pad_token_id", $"{PadTokenId} is outside the vocabulary [0, {VocabSize}).");
        Require(BosTokenId is null || (BosTokenId >= 0 && BosTokenId < VocabSize), "bos_token_id", $"{BosTokenId} is outside the vocabulary [0, {VocabSize}).");
    }

    /// <summary>This config as a Hugging Face config.json (the fields transformers writes for OLMoE).</summary>
    /// <param name="dtype">The weights' type, written as <c>torch_dtype</c> (bfloat16 unless told).</param>
    public string ToJson(Tensors.TensorDType dtype = Tensors.TensorDType.BF16)
    {
        var fields = new Dictionary<string, object?>
        {
            ["architectures"] = new[] { "OlmoeForCausalLM" },
            ["attention_bias"] = false,
            ["attention_dropout"] = 0.0,
            ["bos_token_id"] = BosTokenId,
            ["clip_qkv"] = ClipQkv,
            ["eos_token_id"] = EosTokenIds.Count == 1 ? EosTokenIds[0] : EosTokenIds.Count == 0 ? null : EosTokenIds,
            ["hidden_act"] = "silu",
            ["hidden_size"] = HiddenSize,
            ["initializer_range"] = 0.02,
            ["intermediate_size"] = IntermediateSize,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["model_type"] = "olmoe",
            ["norm_topk_prob"] = NormTopKProb,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_experts"] = NumExperts,
            ["num_experts_per_tok"] = NumExpertsPerToken,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["output_router_logits"] = false,
            ["pad_token_id"] = PadTokenId,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_scaling"] = null,
            ["rope_theta"] = RopeTheta,
            ["router_aux_loss_coef"] = 0.01,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["torch_dtype"] = dtype switch
            {
                Tensors.TensorDType.F32 => "float32",
                Tensors.TensorDType.F16 => "float16",
                _ => "bfloat16",
            },
            ["use_cache"] = true,
            ["vocab_size"] = VocabSize,
        };
        return JsonSerializer.Serialize(fields, new JsonSerializerOptions { WriteIndented = true });
    }
}
