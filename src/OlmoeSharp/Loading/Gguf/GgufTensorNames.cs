using OlmoeSharp.Model;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>The GGUF tensor names of an OLMoE model, as llama.cpp's converter writes them (its <c>LLM_ARCH_OLMOE</c> table), in one place.</summary>
internal static class GgufTensorNames
{
    /// <summary>The name of the tensor of <paramref name="kind"/> in <paramref name="layer"/> (ignored for the tensors outside the layers).</summary>
    public static string Of(TensorKind kind, int layer = -1) => kind switch
    {
        TensorKind.TokenEmbedding => "token_embd.weight",
        TensorKind.OutputNorm => "output_norm.weight",
        TensorKind.Output => "output.weight",
        TensorKind.AttentionNorm => $"blk.{layer}.attn_norm.weight",
        TensorKind.AttentionQ => $"blk.{layer}.attn_q.weight",
        TensorKind.AttentionK => $"blk.{layer}.attn_k.weight",
        TensorKind.AttentionV => $"blk.{layer}.attn_v.weight",
        TensorKind.AttentionOutput => $"blk.{layer}.attn_output.weight",
        TensorKind.AttentionQNorm => $"blk.{layer}.attn_q_norm.weight",
        TensorKind.AttentionKNorm => $"blk.{layer}.attn_k_norm.weight",
        TensorKind.FfnNorm => $"blk.{layer}.ffn_norm.weight",
        TensorKind.Router => $"blk.{layer}.ffn_gate_inp.weight",
        TensorKind.ExpertGate => $"blk.{layer}.ffn_gate_exps.weight",
        TensorKind.ExpertUp => $"blk.{layer}.ffn_up_exps.weight",
        TensorKind.ExpertDown => $"blk.{layer}.ffn_down_exps.weight",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>True for the 1-D norm weights (stored F32 in every GGUF file).</summary>
    public static bool IsNorm(TensorKind kind) =>
        kind is TensorKind.AttentionNorm or TensorKind.AttentionQNorm or TensorKind.AttentionKNorm or TensorKind.FfnNorm or TensorKind.OutputNorm;
}
