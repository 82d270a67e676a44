using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// The matrix × vector kernels on both cores, at OLMoE's shapes (attention 2048×2048, expert gate/up 1024×2048):
/// bf16 as stored, and the same values packed (<see cref="PackedBf16"/>, 12.5 bits each). Each invocation
/// streams 64 distinct matrices (far more than the caches hold) from huge-page memory, so the time measures
/// memory bandwidth: weights/s = 64 × rows × cols / time (× 2 bytes for bf16, × 1.5625 packed).
/// </summary>
[MemoryDiagnoser]
public unsafe class MatVecBenchmarks
{
    private const int Matrices = 64;
    private byte* _weights;
    private byte* _packedMemory;
    private WeightMatrix[] _packed = [];
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
        Loading.MemoryAdvice.UseHugePages(_weights, (nuint)bytes);
        var random = new Random(1);
        var values = new Span<ushort>(_weights, (int)(bytes / 2));
        for (int i = 0; i < values.Length; i++) values[i] = BFloat16Kernels.FromSingle((float)(random.NextDouble() - 0.5) * 0.1f);

        var encoder = WeightFormats.PackedBf16;
        long packedBytes = encoder.EncodedBytes(Bf16(0), 64);
        _packedMemory = (byte*)NativeMemory.AlignedAlloc((nuint)(Matrices * packedBytes), 2 << 20);
        Loading.MemoryAdvice.UseHugePages(_packedMemory, (nuint)(Matrices * packedBytes));
        _packed = new WeightMatrix[Matrices];
        for (int m = 0; m < Matrices; m++) _packed[m] = encoder.Encode(Bf16(m), _packedMemory + m * packedBytes, 64);
        _x = Enumerable.Range(0, Cols).Select(i => (float)Math.Sin(i)).ToArray();
        _y = new float[Rows];
        _pool = new WorkerPool(Environment.ProcessorCount);
    }

    /// <summary>Matrix <paramref name="m"/> of the bf16 set.</summary>
    private WeightMatrix Bf16(int m) => new(Bf16Format.Instance, _weights + m * (long)Rows * Cols * 2, Rows, Cols);

    [Benchmark(OperationsPerInvoke = Matrices)]
    public void Bf16MatVec()
    {
        for (int m = 0; m < Matrices; m++) _job.Run(_pool, _x, 1, Bf16(m), _y);
    }

    [Benchmark(OperationsPerInvoke = Matrices)]
    public void PackedMatVec()
    {
        for (int m = 0; m < Matrices; m++) _job.Run(_pool, _x, 1, _packed[m], _y);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_weights);
        NativeMemory.AlignedFree(_packedMemory);
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
    public void Bf16Gemm() => _job.Run(_pool, _x, Tokens, new WeightMatrix(Bf16Format.Instance, _weights, 1024, 2048), _y);

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_weights);
    }
}
