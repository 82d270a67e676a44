namespace OlmoeSharp;

/// <summary>How a session's KV cache stores keys and values.</summary>
public enum KvCachePrecision
{
    /// <summary>float32, exactly as computed: the reference's numbers. 256 KiB per position on the full model. The default.</summary>
    Float32,

    /// <summary>
    /// bfloat16 (rounded to nearest even): half the memory and half the bytes attention reads per token, so long
    /// contexts decode faster; logits move by about the rounding of keys and values (~0.4% relative), as with
    /// llama.cpp's default f16 cache.
    /// </summary>
    BFloat16,
}
