using LLama;
using LLama.Common;
using LLama.Native;
using OlmoeSharp.Cli;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>A GGUF model loaded in llama.cpp (through LLamaSharp) with one context on the CPU.</summary>
internal sealed class LlamaCppRunner : IDisposable
{
    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();

    public LlamaCppRunner(string ggufPath, int threads, int contextSize, bool float32Cache = false)
    {
        ChooseLibrary();
        var parameters = Parameters(ggufPath, threads, (uint)contextSize, batchSize: (uint)contextSize);
        // llama.cpp's default cache is f16; the f32 cache of a comparison isolates the weights' and kernels' rounding.
        if (float32Cache) parameters.TypeK = parameters.TypeV = GGMLType.GGML_TYPE_F32;
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
        VocabSize = _weights.Vocab.Count;
    }

    public int VocabSize { get; }

    /// <summary>The CPU context every command uses: the file memory-mapped, <paramref name="threads"/> for one token and for batches, 512-token micro-batches.</summary>
    public static ModelParams Parameters(string ggufPath, int threads, uint contextSize, uint batchSize) => new(ggufPath)
    {
        ContextSize = contextSize,
        Threads = threads,
        BatchThreads = threads,
        BatchSize = batchSize,
        UBatchSize = 512,
        GpuLayerCount = 0,
        LoadMode = LLamaLoadMode.MemoryMap,
    };

    /// <summary>Which of LLamaSharp's CPU builds is loaded: the one for this process's SIMD class (avx512, avx2, or noavx).</summary>
    public static string Build { get; } = BenchProtocol.SimdClass() is "avx512" or "avx2" ? BenchProtocol.SimdClass() : "noavx";

    /// <summary>
    /// Picks the native build before llama.cpp is first used: the one matching the SIMD class .NET runs with, so
    /// `DOTNET_EnableAVX512=0` puts both engines on AVX2. Later calls have no effect.
    /// </summary>
    public static void ChooseLibrary()
    {
        if (Interlocked.Exchange(ref s_libraryChosen, 1) != 0) return;
        NativeLibraryConfig.All.WithAvx(Build == "avx512" ? AvxLevel.Avx512 : Build == "avx2" ? AvxLevel.Avx2 : AvxLevel.None)
            .WithLogCallback((level, message) =>
            {
                if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning) Console.Error.Write(message);
            });
    }

    private static int s_libraryChosen;

    /// <summary>Forgets every cached position.</summary>
    public void Reset() => _context.NativeHandle.MemoryClear(true);

    /// <summary>Runs <paramref name="tokens"/> from <paramref name="position"/> as one batch; returns the logits of the last token, or of every token.</summary>
    public float[] Evaluate(ReadOnlySpan<int> tokens, int position, bool allLogits = false)
    {
        _batch.Clear();
        for (int i = 0; i < tokens.Length; i++)
            _batch.Add(tokens[i], position + i, LLamaSeqId.Zero, allLogits || i == tokens.Length - 1);
        var result = _context.Decode(_batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {result}.");
        int rows = allLogits ? tokens.Length : 1;
        var logits = new float[rows * VocabSize];
        for (int row = 0; row < rows; row++)
            _context.NativeHandle.GetLogitsIth(allLogits ? row : tokens.Length - 1).CopyTo(logits.AsSpan(row * VocabSize, VocabSize));
        return logits;
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
