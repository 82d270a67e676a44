using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// One MoE layer of the full-size model (64 experts of 1024×2048 bf16, top-8) for a block of tokens with random
/// routing: 1 token is a decode step's expert work (8 experts, 100 MB of weights), 16/128/512 tokens are prompt
/// blocks where each expert's weights are shared by the tokens that chose it.
/// </summary>
[MemoryDiagnoser]
public unsafe class MoeLayerBenchmarks
{
    private const int Experts = 64, TopK = 8, Hidden = 2048, Inter = 1024;
    private byte* _weights;
    private ExpertWeights[] _experts = [];
    private MoeExperts _moe = null!;
    private ExpertBuffers _buffers = null!;
    private WorkerPool _pool = null!;
    private int[] _chosen = [];
    private float[] _routing = [];
    private float[] _input = [];
    private float[] _residual = [];

    [Params(1, 16, 128, 512)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        long perMatrix = (long)Inter * Hidden * 2;
        _weights = (byte*)NativeMemory.AlignedAlloc((nuint)(perMatrix * 3 * Experts), 2 << 20);
        var values = new Span<ushort>(_weights, (int)(perMatrix * 3 * Experts / 2));
        var random = new Random(5);
        for (int i = 0; i < values.Length; i++) values[i] = BFloat16Kernels.FromSingle((float)(random.NextDouble() - 0.5) * 0.05f);
        _experts = Enumerable.Range(0, Experts).Select(e => new ExpertWeights(
            new WeightMatrix(Bf16Format.Instance, _weights + (3 * e) * perMatrix, Inter, Hidden),
            new WeightMatrix(Bf16Format.Instance, _weights + (3 * e + 1) * perMatrix, Inter, Hidden),
            new WeightMatrix(Bf16Format.Instance, _weights + (3 * e + 2) * perMatrix, Hidden, Inter))).ToArray();
        _moe = new MoeExperts(OlmoeConfig.Olmoe1B7B);
        _buffers = new ExpertBuffers(OlmoeConfig.Olmoe1B7B);
        _pool = new WorkerPool(Environment.ProcessorCount);
        _chosen = new int[Tokens * TopK];
        for (int t = 0; t < Tokens; t++)
        {
            var picks = Enumerable.Range(0, Experts).OrderBy(_ => random.Next()).Take(TopK).ToArray();
            picks.CopyTo(_chosen, t * TopK);
        }
        _routing = Enumerable.Repeat(1f / TopK, Tokens * TopK).ToArray();
        _input = Enumerable.Range(0, Tokens * Hidden).Select(i => (float)Math.Sin(i)).ToArray();
        _residual = new float[Tokens * Hidden];
    }

    [Benchmark]
    public void MoeLayer() => _moe.Apply(_pool, _experts, Tokens, _chosen, _routing, _input, _residual, _buffers);

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_weights);
    }
}
