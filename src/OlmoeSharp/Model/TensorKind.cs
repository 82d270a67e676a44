namespace OlmoeSharp.Model;

/// <summary>The tensors of an OLMoE model, by what they do (llama.cpp's quantizer picks a type per kind and layer).</summary>
internal enum TensorKind
{
    /// <summary>The embedding table [V, d].</summary>
    TokenEmbedding,
    AttentionNorm,
    AttentionQ,
    AttentionK,
    AttentionV,
    AttentionOutput,
    AttentionQNorm,
    AttentionKNorm,
    FfnNorm,
    /// <summary>The router [E, d] (ffn_gate_inp; Hugging Face's mlp.gate).</summary>
    Router,
    /// <summary>The gate projections of a layer's experts, stacked [E, I, d].</summary>
    ExpertGate,
    ExpertUp,
    /// <summary>The down projections of a layer's experts, stacked [E, d, I].</summary>
    ExpertDown,
    OutputNorm,
    /// <summary>The LM head [V, d].</summary>
    Output,
}
