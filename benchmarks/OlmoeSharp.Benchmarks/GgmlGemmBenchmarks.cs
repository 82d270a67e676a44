using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// The GEMM behind prompts on GGUF files: one expert's 1024×2048 gate matrix of a ggml type against a block of
/// tokens, on both cores — 16 tokens is what each chosen expert sees of a 128-token prompt, 128 what an attention
/// projection sees, 8 what an attention projection sees of a step of eight decoding streams. GFLOP/s = 2 × 1024 ×
/// 2048 × tokens / time. With <see cref="Interleaved"/>, the matrix is first re-encoded as <c>--weights packed</c>
/// loads it (Q4_K, Q6_K and Q4_0: sixteen rows at a time; up to 16 tokens then run through its integer kernel).
/// </summary>
[MemoryDiagnoser]
public unsafe class GgmlGemmBenchmarks
{
    private const int Rows = 1024, Cols = 2048;
    private byte* _memory;
    private byte* _encoded;
    private WeightMatrix _matrix;
    private float[] _x = [];
    private float[] _y = [];
    private WorkerPool _pool = null!;
    private readonly ProjectionJob _job = new();

    [Params(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; } = GgmlType.Q4_K;

    [Params(8, 16, 128)]
    public int Tokens { get; set; }

    [Params(false, true)]
    public bool Interleaved { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _memory = GgmlBenchmarkMatrix.Allocate(Type, Rows, Cols, copies: 1, out _matrix);
        var encoder = Tensors.Formats.WeightFormats.Interleaving;
        if (Interleaved && encoder.CanEncode(_matrix))
        {
            _encoded = (byte*)NativeMemory.AlignedAlloc((nuint)encoder.EncodedBytes(_matrix, 64), 64);
            _matrix = encoder.Encode(_matrix, _encoded, 64);
        }
        _x = Enumerable.Range(0, Tokens * Cols).Select(i => (float)Math.Cos(i)).ToArray();
        _y = new float[Tokens * Rows];
        _pool = new WorkerPool(Environment.ProcessorCount);
    }

    [Benchmark]
    public void Gemm() => _job.Run(_pool, _x, Tokens, _matrix, _y);

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_memory);
        if (_encoded != null) NativeMemory.AlignedFree(_encoded);
    }
}
