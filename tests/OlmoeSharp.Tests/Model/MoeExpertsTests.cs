using System.Runtime.InteropServices;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// The bucketed, multi-threaded expert computation against a plain dense loop in double precision:
/// residual[t] += Σ_j w[t, j] · down_e(silu(gate_e·x[t]) ⊙ up_e·x[t]) with e = chosen[t, j], for blocks of
/// one token (decode), a few, and more tokens than experts (several tokens per expert), and with tokens choosing
/// overlapping experts. Tolerance: 1e-4 of the magnitude of each output (float32 sums in another order).
/// </summary>
public sealed unsafe class MoeExpertsTests : IDisposable
{
    private const int Hidden = 128, Inter = 72, Experts = 6, TopK = 2;

    private static readonly OlmoeConfig Config = RandomCheckpoint.Tiny with
    {
        HiddenSize = Hidden, IntermediateSize = Inter, NumExperts = Experts, NumExpertsPerToken = TopK,
    };

    private readonly ushort* _memory;
    private readonly double[][] _gate = new double[Experts][], _up = new double[Experts][], _down = new double[Experts][];
    private readonly ExpertWeights[] _experts = new ExpertWeights[Experts];
    private readonly WorkerPool _pool = new(2);

    public MoeExpertsTests()
    {
        long perExpert = 3L * Inter * Hidden;
        _memory = (ushort*)NativeMemory.AlignedAlloc((nuint)(perExpert * Experts * sizeof(ushort)), 64);
        var random = new Random(3);
        for (int e = 0; e < Experts; e++)
        {
            ushort* gate = _memory + e * perExpert, up = gate + Inter * Hidden, down = up + Inter * Hidden;
            _gate[e] = Fill(gate, Inter * Hidden, random);
            _up[e] = Fill(up, Inter * Hidden, random);
            _down[e] = Fill(down, Hidden * Inter, random);
            _experts[e] = new ExpertWeights(
                new WeightMatrix(Bf16Format.Instance, (byte*)gate, Inter, Hidden),
                new WeightMatrix(Bf16Format.Instance, (byte*)up, Inter, Hidden),
                new WeightMatrix(Bf16Format.Instance, (byte*)down, Hidden, Inter));
        }
    }

    private static double[] Fill(ushort* target, int count, Random random)
    {
        var exact = new double[count];
        for (int i = 0; i < count; i++)
        {
            target[i] = BFloat16Kernels.FromSingle((float)(random.NextDouble() * 2 - 1) * 0.2f);
            exact[i] = BFloat16Kernels.ToSingle(target[i]);
        }
        return exact;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(17, 3)]
    public void Bucketed_experts_equal_a_dense_loop(int tokens, int seed)
    {
        var random = new Random(seed);
        var chosen = new int[tokens * TopK];
        var weights = new float[tokens * TopK];
        for (int t = 0; t < tokens; t++)
        {
            var picks = Enumerable.Range(0, Experts).OrderBy(_ => random.Next()).Take(TopK).ToArray();
            picks.CopyTo(chosen, t * TopK);
            for (int j = 0; j < TopK; j++) weights[t * TopK + j] = (float)random.NextDouble();
        }
        var input = Enumerable.Range(0, tokens * Hidden).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var residual = Enumerable.Range(0, tokens * Hidden).Select(_ => (float)random.NextDouble()).ToArray();
        var expected = residual.Select(v => (double)v).ToArray();
        var magnitude = residual.Select(v => (double)Math.Abs(v)).ToArray();

        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < TopK; j++)
            {
                int e = chosen[t * TopK + j];
                var h = new double[Inter];
                for (int i = 0; i < Inter; i++)
                {
                    double g = 0, u = 0;
                    for (int k = 0; k < Hidden; k++)
                    {
                        g += _gate[e][i * Hidden + k] * input[t * Hidden + k];
                        u += _up[e][i * Hidden + k] * input[t * Hidden + k];
                    }
                    h[i] = g / (1 + Math.Exp(-g)) * u;
                }
                for (int r = 0; r < Hidden; r++)
                {
                    double y = 0;
                    for (int i = 0; i < Inter; i++) y += _down[e][r * Inter + i] * h[i];
                    expected[t * Hidden + r] += weights[t * TopK + j] * y;
                    magnitude[t * Hidden + r] += Math.Abs(weights[t * TopK + j] * y);
                }
            }

        new MoeExperts(Config).Apply(_pool, _experts, tokens, chosen, weights, input, residual, new ExpertBuffers(Config));

        for (int i = 0; i < residual.Length; i++)
            Assert.True(Math.Abs(expected[i] - residual[i]) <= 1e-4 * Math.Max(magnitude[i], 1e-3),
                $"tokens={tokens} output {i}: expected {expected[i]}, got {residual[i]}");
    }

    public void Dispose()
    {
        _pool.Dispose();
        NativeMemory.AlignedFree(_memory);
    }
}
