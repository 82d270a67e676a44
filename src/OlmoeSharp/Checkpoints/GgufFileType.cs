namespace OlmoeSharp.Checkpoints;

/// <summary>
/// What a GGUF file's weights are stored as: llama.cpp's file types (<c>enum llama_ftype</c>, the numbers it writes
/// as <c>general.file_type</c>), each a mix of tensor types chosen per tensor as llama.cpp's quantizer chooses them.
/// </summary>
public enum GgufFileType
{
    /// <summary>Every matrix float32.</summary>
    F32 = 0,

    /// <summary>Every matrix IEEE half.</summary>
    F16 = 1,

    /// <summary>Mostly Q4_0 (4.5 bits per weight); the LM head Q6_K.</summary>
    Q4_0 = 2,

    /// <summary>Every matrix Q8_0 (8.5 bits per weight).</summary>
    Q8_0 = 7,

    /// <summary>Mostly Q4_K (4.5 bits per weight); the LM head, and attn_v and ffn_down_exps in half the layers, Q6_K.</summary>
    Q4_K_M = 15,

    /// <summary>Mostly Q5_K (5.5 bits per weight); the LM head, and attn_v and ffn_down_exps in half the layers, Q6_K.</summary>
    Q5_K_M = 17,

    /// <summary>Every matrix Q6_K (6.56 bits per weight).</summary>
    Q6_K = 18,

    /// <summary>Every matrix bfloat16.</summary>
    BF16 = 32,
}
