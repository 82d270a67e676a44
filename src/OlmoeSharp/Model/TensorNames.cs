namespace OlmoeSharp.Model;

/// <summary>The Hugging Face tensor names of an OLMoE checkpoint, in one place.</summary>
internal static class TensorNames
{
    public const string Embeddings = "model.embed_tokens.weight";
    public const string FinalNorm = "model.norm.weight";
    public const string LmHead = "lm_head.weight";

    public static string InputNorm(int layer) => $"model.layers.{layer}.input_layernorm.weight";
    public static string PostAttentionNorm(int layer) => $"model.layers.{layer}.post_attention_layernorm.weight";
    public static string QProj(int layer) => $"model.layers.{layer}.self_attn.q_proj.weight";
    public static string KProj(int layer) => $"model.layers.{layer}.self_attn.k_proj.weight";
    public static string VProj(int layer) => $"model.layers.{layer}.self_attn.v_proj.weight";
    public static string OProj(int layer) => $"model.layers.{layer}.self_attn.o_proj.weight";
    public static string QNorm(int layer) => $"model.layers.{layer}.self_attn.q_norm.weight";
    public static string KNorm(int layer) => $"model.layers.{layer}.self_attn.k_norm.weight";
    public static string Router(int layer) => $"model.layers.{layer}.mlp.gate.weight";
    public static string ExpertGate(int layer, int expert) => $"model.layers.{layer}.mlp.experts.{expert}.gate_proj.weight";
    public static string ExpertUp(int layer, int expert) => $"model.layers.{layer}.mlp.experts.{expert}.up_proj.weight";
    public static string ExpertDown(int layer, int expert) => $"model.layers.{layer}.mlp.experts.{expert}.down_proj.weight";

    /// <summary>Newer transformers save all experts of a layer fused: [E, 2I, d], gate rows first, then up rows.</summary>
    public static string FusedGateUp(int layer) => $"model.layers.{layer}.mlp.experts.gate_up_proj";

    /// <summary>Fused down projections of all experts: [E, d, I].</summary>
    public static string FusedDown(int layer) => $"model.layers.{layer}.mlp.experts.down_proj";
}
