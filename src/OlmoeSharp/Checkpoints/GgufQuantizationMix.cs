using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;

namespace OlmoeSharp.Checkpoints;

/// <summary>
/// The tensor type of every tensor of an OLMoE model in a GGUF file of a given <see cref="GgufFileType"/>, as
/// llama.cpp's quantizer (llama_tensor_get_type, no importance matrix) picks it for arch olmoe:
/// <list type="bullet">
/// <item>norms and the router (ffn_gate_inp) F32 — llama.cpp never quantizes them;</item>
/// <item>the LM head (output) Q6_K unless the file type is Q8_0 (then Q8_0), or Q8_0 when its rows are not whole
/// blocks of the file type; the embedding table the file type's own type;</item>
/// <item>Q4_K_M and Q5_K_M: attn_v and ffn_down_exps at Q6_K in the layers of <see cref="UseMoreBits"/> — the first
/// and last eighth and every third layer between: layers 0, 1, 4, 7, 10, 13, 14, 15 of OLMoE-1B-7B's 16;</item>
/// <item>models of exactly 8 experts (llama.cpp's rule for Mixtral, which the small test models meet): attn_k and
/// attn_v Q8_0, and attn_output Q5_K in Q4_K_M files;</item>
/// <item>rows that are not whole blocks fall back as llama.cpp's do: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, and to
/// F16 when even those do not fit (llama.cpp refuses Q4_0 and Q8_0 files then; this writes those tensors F16).</item>
/// </list>
/// The float file types (F32, F16, BF16) store every matrix in that type, norms and router F32.
/// </summary>
internal static class GgufQuantizationMix
{
    /// <summary>The type of the tensor of <paramref name="kind"/> in <paramref name="layer"/>, whose rows hold <paramref name="cols"/> values.</summary>
    public static GgmlType TypeOf(GgufFileType fileType, TensorKind kind, int layer, int cols, OlmoeConfig config)
    {
        if (GgufTensorNames.IsNorm(kind) || kind == TensorKind.Router) return GgmlType.F32;
        var baseType = BaseType(fileType);
        if (fileType is GgufFileType.F32 or GgufFileType.F16 or GgufFileType.BF16) return baseType;

        bool eightExperts = config.NumExperts == 8;
        bool kMix = fileType is GgufFileType.Q4_K_M or GgufFileType.Q5_K_M;
        var type = baseType;
        switch (kind)
        {
            case TensorKind.Output:
                type = cols % BlockSize(baseType) != 0 || baseType == GgmlType.Q8_0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
                break;
            case TensorKind.AttentionV:
                if (kMix && UseMoreBits(layer, config.NumHiddenLayers)) type = GgmlType.Q6_K;
                if (eightExperts) type = GgmlType.Q8_0;
                break;
            case TensorKind.AttentionK:
                if (eightExperts) type = GgmlType.Q8_0;
                break;
            case TensorKind.ExpertDown:
                if (kMix && UseMoreBits(layer, config.NumHiddenLayers)) type = GgmlType.Q6_K;
                break;
            case TensorKind.AttentionOutput:
                if (eightExperts && fileType == GgufFileType.Q4_K_M) type = GgmlType.Q5_K;
                break;
        }
        return Fallback(type, cols);
    }

    /// <summary>The type most tensors of the file type take (llama_ftype_get_default_type).</summary>
    public static GgmlType BaseType(GgufFileType fileType) => fileType switch
    {
        GgufFileType.F32 => GgmlType.F32,
        GgufFileType.F16 => GgmlType.F16,
        GgufFileType.BF16 => GgmlType.BF16,
        GgufFileType.Q4_0 => GgmlType.Q4_0,
        GgufFileType.Q8_0 => GgmlType.Q8_0,
        GgufFileType.Q4_K_M => GgmlType.Q4_K,
        GgufFileType.Q5_K_M => GgmlType.Q5_K,
        GgufFileType.Q6_K => GgmlType.Q6_K,
        _ => throw new ArgumentOutOfRangeException(nameof(fileType), fileType, "unknown GGUF file type."),
    };

    /// <summary>llama.cpp's use_more_bits: the first and last eighth of the layers, and every third one between.</summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary>A type whose blocks fit rows of <paramref name="cols"/> values: the type itself, llama.cpp's fallback, or F16.</summary>
    public static GgmlType Fallback(GgmlType type, int cols)
    {
        if (cols % BlockSize(type) == 0) return type;
        var fallback = type switch
        {
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => GgmlType.F16,
        };
        return cols % BlockSize(fallback) == 0 ? fallback : GgmlType.F16;
    }

    private static int BlockSize(GgmlType type) => GgmlTypeLayout.TryGet((uint)type, out _, out int size, out _) ? size : 1;
}
