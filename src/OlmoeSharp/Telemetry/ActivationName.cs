namespace OlmoeSharp.Telemetry;

/// <summary>
/// The intermediate activations an <see cref="IActivationObserver"/> sees, in the order a layer computes them; the
/// names llama.cpp's OLMoE graph gives the same tensors (its <c>cb(cur, name, il)</c>) are in each member's remarks.
/// </summary>
public enum ActivationName
{
    /// <summary>RMSNorm of the residual stream before attention, [tokens, hidden]. llama.cpp: <c>attn_norm</c>.</summary>
    AttentionNorm,

    /// <summary>Queries after q-norm and RoPE, [tokens, heads × headDim]. llama.cpp: <c>Qcur</c>.</summary>
    Query,

    /// <summary>Keys after k-norm and RoPE (as cached), [tokens, kvHeads × headDim]. llama.cpp: <c>Kcur</c>.</summary>
    Key,

    /// <summary>Values (as cached), [tokens, kvHeads × headDim]. llama.cpp: <c>Vcur</c>.</summary>
    Value,

    /// <summary>The attention heads' outputs before o_proj, [tokens, heads × headDim]. llama.cpp: <c>kqv_out</c>.</summary>
    AttentionHeads,

    /// <summary>o_proj of the heads, [tokens, hidden]. llama.cpp: <c>attn_out</c>.</summary>
    AttentionOutput,

    /// <summary>The residual stream after attention, the MoE block's input, [tokens, hidden]. llama.cpp: <c>ffn_inp</c>.</summary>
    FfnInput,

    /// <summary>RMSNorm of <see cref="FfnInput"/>, what the router and experts read, [tokens, hidden]. llama.cpp: <c>ffn_norm</c>.</summary>
    FfnNorm,

    /// <summary>The router's softmax over all experts, [tokens, experts]. llama.cpp: <c>ffn_moe_probs</c>.</summary>
    RouterProbabilities,

    /// <summary>Σ over the chosen experts of weight × expert output, [tokens, hidden]. llama.cpp: <c>ffn_moe_out</c>.</summary>
    MoeOutput,

    /// <summary>The layer's output, the next layer's residual stream, [tokens, hidden]. llama.cpp: <c>l_out</c>.</summary>
    LayerOutput,

    /// <summary>The final RMSNorm before the LM head, for the rows whose logits are computed (layer -1), [rows, hidden]. llama.cpp: <c>result_norm</c>.</summary>
    FinalNorm,
}
