namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// A tensor's storage type as ggml numbers it in a GGUF file (<c>enum ggml_type</c>). Only the types this reader can
/// size are named; ids 4 and 5 (the removed Q4_2 and Q4_3) and the other ggml types are refused by name of their id.
/// </summary>
public enum GgmlType : uint
{
    /// <summary>32-bit float.</summary>
    F32 = 0,

    /// <summary>16-bit IEEE half.</summary>
    F16 = 1,

    /// <summary>Blocks of 32: fp16 scale, 4-bit quants.</summary>
    Q4_0 = 2,

    /// <summary>Blocks of 32: fp16 scale and minimum, 4-bit quants.</summary>
    Q4_1 = 3,

    /// <summary>Blocks of 32: fp16 scale, 5-bit quants.</summary>
    Q5_0 = 6,

    /// <summary>Blocks of 32: fp16 scale and minimum, 5-bit quants.</summary>
    Q5_1 = 7,

    /// <summary>Blocks of 32: fp16 scale, 8-bit quants.</summary>
    Q8_0 = 8,

    /// <summary>Super-blocks of 256, 2-bit quants.</summary>
    Q2_K = 10,

    /// <summary>Super-blocks of 256, 3-bit quants.</summary>
    Q3_K = 11,

    /// <summary>Super-blocks of 256, 4-bit quants.</summary>
    Q4_K = 12,

    /// <summary>Super-blocks of 256, 5-bit quants.</summary>
    Q5_K = 13,

    /// <summary>Super-blocks of 256, 6-bit quants.</summary>
    Q6_K = 14,

    /// <summary>Blocks of 32: fp16 scale, 4-bit indices into a non-linear table.</summary>
    IQ4_NL = 20,

    /// <summary>Super-blocks of 256: 4-bit indices into a non-linear table, 6-bit sub-block scales.</summary>
    IQ4_XS = 23,

    /// <summary>bfloat16.</summary>
    BF16 = 30,
}
