using Microsoft.Extensions.Logging;
using OlmoeSharp.Generation;

namespace OlmoeSharp;

/// <summary>How <see cref="OlmoeModel.LoadAsync"/> and <see cref="OlmoeModel.Load(string, ModelLoadOptions?)"/> load a model.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Threads per forward pass; 0 (the default) means one per core.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Auto (default: packed where that is fastest and fits, else mapped), mapped (zero-copy), preloaded into private
    /// huge-page memory, or packed there (bf16 at 12.5 bits per weight, a GGUF file's Q4_K, Q6_K and Q4_0 matrices re-laid
    /// sixteen rows at a time; fastest decode, slowest load) — all lossless — or,
    /// lossy and only when asked, quantized there at load as llama.cpp's Q8_0, Q4_0 or Q4_K_M files are
    /// (<see cref="WeightResidency.Q8_0"/>, <see cref="WeightResidency.Q4_0"/>, <see cref="WeightResidency.Q4_K"/>).
    /// </summary>
    public WeightResidency Residency { get; init; } = WeightResidency.Auto;

    /// <summary>How sessions' KV caches store keys and values: float32 (default, exact) or bfloat16 (half the memory and attention reads).</summary>
    public KvCachePrecision KvCache { get; init; } = KvCachePrecision.Float32;

    /// <summary>Hub and cache settings for repo ids (default: from the environment, as huggingface_hub reads them).</summary>
    public Hub.HubOptions? Hub { get; init; }

    /// <summary>Branch, tag or commit to load when a repo id is given (default "main").</summary>
    public string? Revision { get; init; }

    /// <summary>
    /// Whether loading measures the packed kernel against the bf16 one (≈20 ms on a slice of the model) before packing:
    /// for <see cref="WeightResidency.Auto"/> to decide whether to pack, for <see cref="WeightResidency.Packed"/> to serve
    /// the weights mapped where packed ones would decode slower. False packs wherever packing is possible and a vector
    /// decoder exists — to save memory whatever the speed, or to make a test independent of the machine's speed.
    /// </summary>
    public bool MeasurePackedSpeed { get; init; } = true;

    /// <summary>
    /// The chat format chats with the model use, whatever its files declare (<see cref="OlmoeModel.ChatTemplate"/>);
    /// null (the default) takes it from the folder's tokenizer_config.json or the GGUF file's <c>tokenizer.chat_template</c>:
    /// the Tulu template is recognised, no template means Tulu is assumed, and any other template refuses to chat until one is chosen here.
    /// </summary>
    public IChatTemplate? ChatTemplate { get; init; }

    /// <summary>
    /// Receives what loading does and decides: its stages, the CPU's vector class, the residency chosen and why,
    /// the chat template, and warnings (a residency served other than asked). Null (the default) logs nothing; the
    /// library never writes to the console itself.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>How concurrent text generations are batched into shared forward steps (default: up to 16 sequences at once).</summary>
    public Batching.BatchingOptions Batching { get; init; } = new();

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Batching);
        Batching.Validate();
        if (Threads < 0 || Threads > 1024) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "must be between 0 (one per core) and 1024.");
        if (!Enum.IsDefined(Residency)) throw new ArgumentOutOfRangeException(nameof(Residency), Residency, "unknown residency.");
        if (!Enum.IsDefined(KvCache)) throw new ArgumentOutOfRangeException(nameof(KvCache), KvCache, "unknown KV cache precision.");
    }
}
