using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// The bf16 matrix × vector kernel on both cores, at OLMoE's shapes (attention 2048×2048, expert gate/up 1024×2048).
/// Each invocation streams 64 distinct matrices (far more than the caches hold), so the time measures memory
/// bandwidth: GB/s = 64 × rows × cols × 2 bytes / time.
/// </summary>
[MemoryDiagnoser]
public unsafe class MatVecBenchmarks
{
    private const int Matrices = 64;
    private byte* _weights;
    private float[] _x = [];
    private float[] _y = [];
    private WorkerPool _pool = null!;
    private readonly ProjectionJob _job = new();

    [Params(2048, 1024)]
    public int Rows { get; set; }

    public int Cols => 2048;

    [GlobalSetup]
    public void Setup()
    {
        long bytes = (long)Matrices * Rows * Cols * 2;
        _weights = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 2 << 20);
        var random = new Random(1);
        var values = new Span<ushort>(_weights, (int)(bytes / 2));
        for (int i = 0; i < values.Length; i++) values[i] = BFloat16Kernels.FromSingle((float)(random.NextDouble() - 0.5));
        _x = Enumerable.Range(0, Cols).Select(i => (float)Math.Sin(i)).ToArray();
        _y = new float[Rows];
        _pool = new WorkerPool(Environment.ProcessorCount);
    }

    [Benchmark(OperationsPerInvoke = Matrices)]
    public void Bf16MatVec()
    {
        long size = (long)Rows * Cols * 2;
        for (int m = 0; m < Matrices; m++)
            _job.Run(_pool, _x, 1, new WeightMatrix(_weights + m * size, TensorDType.BF16, Rows, Cols), _y);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_weights);
    }
}

/// <summary>The tiled GEMM behind prompt processing: one expert's 1024×2048 bf16 gate matrix against a block of tokens, on both cores. GFLOP/s = 2 × 1024 × 2048 × tokens / time.</summary>
[MemoryDiagnoser]
public unsafe class GemmBenchmarks
{
    private byte* _weights;
    private float[] _x = [];
    private float[] _y = [];
    private WorkerPool _pool = null!;
    private readonly ProjectionJob _job = new();

    [Params(16, 128)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        const int rows = 1024, cols = 2048;
        _weights = (byte*)NativeMemory.AlignedAlloc(rows * cols * 2, 64);
        var values = new Span<ushort>(_weights, rows * cols);
        var random = new Random(2);
        for (int i = 0; i < values.Length; i++) values[i] = BFloat16Kernels.FromSingle((float)(random.NextDouble() - 0.5));
        _x = Enumerable.Range(0, Tokens * cols).Select(i => (float)Math.Cos(i)).ToArray();
        _y = new float[Tokens * rows];
        _pool = new WorkerPool(Environment.ProcessorCount);
    }

    [Benchmark]
    public void Bf16Gemm() => _job.Run(_pool, _x, Tokens, new WeightMatrix(_weights, TensorDType.BF16, 1024, 2048), _y);

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_weights);
    }
}
