using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// The ggml block types' mat-vec on both cores at the attention shape (2048×2048), as a decode step runs it: one
/// quantized matrix copied to 64 places, streamed one after another from huge-page memory (<see cref="Streamed"/>:
/// far more than the caches hold, as in the model) or the first copy 64 times (<see cref="InCache"/>: the kernel's own
/// speed). Weights/s = 64 × 2048 × 2048 / time; bytes/s = that × the type's bytes per weight. With
/// <see cref="Interleaved"/>, the matrices are first re-encoded as <c>--weights packed</c> loads them (Q4_K, Q6_K and Q4_0:
/// sixteen rows at a time); types without such an encoding run as stored.
/// </summary>
[MemoryDiagnoser]
public unsafe class GgmlMatVecBenchmarks
{
    private const int Matrices = 64, Rows = 2048, Cols = 2048;
    private byte* _memory;
    private byte* _encoded;
    private WeightMatrix[] _matrices = [];
    private float[] _x = [];
    private float[] _y = [];
    private WorkerPool _pool = null!;
    private readonly ProjectionJob _job = new();

    [Params(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; } = GgmlType.Q4_K;

    [Params(false, true)]
    public bool Interleaved { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _memory = GgmlBenchmarkMatrix.Allocate(Type, Rows, Cols, Matrices, out var first);
        long bytes = first.Format.RowBytes(Cols) * Rows;
        _matrices = Enumerable.Range(0, Matrices).Select(m => new WeightMatrix(first.Format, _memory + m * bytes, Rows, Cols)).ToArray();
        var encoder = Tensors.Formats.WeightFormats.Interleaving;
        if (Interleaved && encoder.CanEncode(first))
        {
            // Encoded in place, one copy after another: the x16 layout is larger, so into memory of its own.
            long encoded = encoder.EncodedBytes(first, 64);
            _encoded = (byte*)NativeMemory.AlignedAlloc((nuint)(encoded * Matrices), 2 << 20);
            _matrices = _matrices.Select((m, i) => encoder.Encode(m, _encoded + i * encoded, 64)).ToArray();
        }
        _x = Enumerable.Range(0, Cols).Select(i => (float)Math.Sin(i)).ToArray();
        _y = new float[Rows];
        _pool = new WorkerPool(Environment.ProcessorCount);
    }

    [Benchmark(OperationsPerInvoke = Matrices)]
    public void Streamed()
    {
        for (int m = 0; m < Matrices; m++) _job.Run(_pool, _x, 1, _matrices[m], _y);
    }

    [Benchmark(OperationsPerInvoke = Matrices)]
    public void InCache()
    {
        for (int m = 0; m < Matrices; m++) _job.Run(_pool, _x, 1, _matrices[0], _y);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_memory);
        if (_encoded != null) NativeMemory.AlignedFree(_encoded);
    }
}
