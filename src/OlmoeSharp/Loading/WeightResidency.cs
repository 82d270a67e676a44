namespace OlmoeSharp;

/// <summary>Where the weights live while a model is loaded.</summary>
public enum WeightResidency
{
    /// <summary>
    /// The fastest lossless choice for this CPU and this machine's memory, said in <see cref="OlmoeModel.ResidencyChoice"/>:
    /// <see cref="Packed"/> where packed weights decode in vector registers and the packed copy fits in the memory
    /// available with room to spare, <see cref="Mapped"/> otherwise. The default.
    /// </summary>
    Auto,

    /// <summary>
    /// Memory-mapped from the safetensors files, never copied: loads instantly, shares the OS page cache with other
    /// processes, and costs no memory beyond the file cache.
    /// </summary>
    Mapped,

    /// <summary>
    /// Read once into process memory backed by huge pages where the OS offers them. Loading takes seconds and the
    /// weights are held privately (resident memory ≈ the weight files), but decoding reads them faster: on the
    /// reference 2-core VM a page-cache mapping streams at ≈14 GB/s and private huge-page memory at ≈20 GB/s.
    /// </summary>
    Preloaded,

    /// <summary>
    /// Mapped, then the bf16 projection matrices re-encoded losslessly into private huge-page memory at 12.5 bits
    /// per weight instead of 16 (the file pages are released as each matrix is done): loading takes seconds,
    /// resident memory is ≈ 0.78 × the bf16 files, and decoding reads a fifth fewer bytes per token, so it runs
    /// faster wherever memory bandwidth is the limit. Results equal bf16's up to float32 summation order. The
    /// decoders use AVX-512BW, AVX2 or 128-bit vectors (ARM64 too); on a CPU with none of them, or where the packed
    /// kernel measures slower than the bf16 one at load, the weights are served <see cref="Mapped"/> instead, as
    /// packing would make decoding slower (<see cref="OlmoeModel.ResidencyChoice"/> says so).
    /// F16 and F32 checkpoints, and matrices whose rows are not a multiple of 128, are served as <see cref="Mapped"/>.
    /// <para>
    /// For a GGUF file, packing re-lays its Q4_K, Q6_K and Q4_0 matrices sixteen rows at a time (one row per vector
    /// lane: a block's scale applied to sixteen rows at once) into private memory and releases the file's pages: the
    /// same values, products up to float32 summation order; Q6_K quants are stored as bytes, so resident memory is
    /// ≈ the file + 0.06 × its Q4_K bytes + 0.3 × its Q6_K bytes + 0.11 × its Q4_0 bytes. On the full-size Q4_K_M and
    /// Q4_0 files (Zen 4, two threads) decoding is ~1.3× faster than mapped and loading takes ~12 s instead of 0.3 s.
    /// Other types stay as stored.
    /// </para>
    /// </summary>
    Packed,

    /// <summary>
    /// Quantized at load to 8.5 bits per weight, as <c>olmoe quantize --type q8_0</c> writes a GGUF file: every
    /// matrix, the embedding table included, Q8_0 (ggml's reference quantizer); norms kept, the router (mlp.gate) as
    /// float32. Lossy, so never chosen by <see cref="Auto"/>. Loading reads each bf16/f16/f32 matrix once and releases
    /// its file pages; resident memory ≈ 0.53 × the bf16 files. Matrices already quantized (a GGUF file) are served as
    /// stored, and a model with none to quantize is served <see cref="Mapped"/>; <see cref="OlmoeModel.ResidencyChoice"/> says so.
    /// </summary>
    Q8_0,

    /// <summary>
    /// Quantized at load as <c>olmoe quantize --type q4_0</c> writes a GGUF file — llama.cpp's Q4_0 mix: Q4_0 (4.5 bits
    /// per weight), the LM head Q6_K; otherwise as <see cref="Q8_0"/>.
    /// </summary>
    Q4_0,

    /// <summary>
    /// Quantized at load as <c>olmoe quantize --type q4_k_m</c> writes a GGUF file — llama.cpp's Q4_K_M mix: Q4_K (4.5
    /// bits per weight), the LM head and, in half the layers, attn_v and the experts' down projections Q6_K; otherwise
    /// as <see cref="Q8_0"/>. The slowest load (the K-quants search for each sub-block's scale).
    /// </summary>
    Q4_K,
}
