using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The expert half of a MoE layer for a block of tokens, dropless: every (token, chosen expert) pair is computed.
/// Pairs are bucketed by expert ("slots"), each slot's tokens gathered into one contiguous block so the expert's
/// weights are read once for all of them (one token in decode, ~16 per expert in a 128-token prompt). Each thread
/// takes the same contiguous share of every expert's rows, which keeps the work balanced however the tokens are
/// spread and lets each thread add its share of the down projection straight into the output rows without
/// locks. Experts no token chose cost nothing. Contributions are summed in ascending expert order, as the
/// reference implementation does.
/// </summary>
internal sealed class MoeExperts
{
    private readonly int _d;
    private readonly int _k;
    private readonly GateUpJob _gateUp;
    private readonly DownJob _down;

    public MoeExperts(OlmoeConfig config)
    {
        _d = config.HiddenSize;
        _k = config.NumExpertsPerToken;
        _gateUp = new GateUpJob(config.HiddenSize, config.IntermediateSize);
        _down = new DownJob(config.HiddenSize, config.IntermediateSize);
    }

    /// <summary>output[t] += Σ_j weights[t, j] · expert_{chosen[t, j]}(input[t]) for every token t of the block.</summary>
    /// <param name="pool">Threads to use.</param>
    /// <param name="experts">All experts of the layer.</param>
    /// <param name="tokens">Tokens in the block.</param>
    /// <param name="chosen">[tokens, k] chosen expert indices.</param>
    /// <param name="weights">[tokens, k] their router weights.</param>
    /// <param name="input">[tokens, d] post-attention-normed hidden states.</param>
    /// <param name="output">[tokens, d] the sum, added to in place.</param>
    /// <param name="buffers">Working memory, sized here.</param>
    public void Apply(WorkerPool pool, ExpertWeights[] experts, int tokens, int[] chosen, float[] weights, float[] input, float[] output, ExpertBuffers buffers)
    {
        buffers.EnsureCapacity(tokens);
        Bucket(tokens, chosen, weights, buffers);
        for (int p = 0; p < tokens * _k; p++)
            input.AsSpan(buffers.PairToken[p] * _d, _d).CopyTo(buffers.Gathered.AsSpan(p * _d, _d));
        _gateUp.Run(pool, experts, buffers);
        _down.Run(pool, experts, buffers, output);
    }

    /// <summary>Counting sort of the (token, expert) pairs by expert.</summary>
    private void Bucket(int tokens, int[] chosen, float[] weights, ExpertBuffers b)
    {
        var next = b.PairsPerExpert;
        Array.Clear(next);
        for (int p = 0; p < tokens * _k; p++) next[chosen[p]]++;
        int slots = 0, start = 0;
        for (int e = 0; e < next.Length; e++)
        {
            if (next[e] == 0) continue;
            b.SlotExpert[slots] = e;
            b.SlotStart[slots++] = start;
            start += next[e];
            next[e] = b.SlotStart[slots - 1]; // becomes the next free pair index of expert e
        }
        b.SlotStart[slots] = start;
        b.SlotCount = slots;
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < _k; j++)
            {
                int p = next[chosen[t * _k + j]]++;
                b.PairToken[p] = t;
                b.PairWeight[p] = weights[t * _k + j];
            }
    }

    /// <summary>Rows [start, end) of <paramref name="rows"/> in range <paramref name="part"/> of <paramref name="parts"/>, on 4-row boundaries.</summary>
    private static (int Start, int End) Share(int rows, int part, int parts)
    {
        int Boundary(int t) => t >= parts ? rows : (int)((long)rows * t / parts) & ~(ProjectionJob.RowGranularity - 1);
        return (Boundary(part), Boundary(part + 1));
    }

    /// <summary>
    /// How many row ranges of every expert the threads share out: one per thread when a GEMM packs each slot's tokens
    /// per call, eight per thread when every slot is one token (decoding), so the threads balance.
    /// </summary>
    private static int Parts(WorkerPool pool, ExpertBuffers b)
    {
        int chunks = ProjectionJob.ChunksPerThread(b.SlotStart[b.SlotCount] == b.SlotCount ? 1 : 2);
        return pool.ThreadCount * chunks;
    }

    /// <summary>Phase 1, item p = row range p of every expert: gate and up projections of every slot's tokens, then SwiGLU.</summary>
    private sealed class GateUpJob(int d, int inter) : IRangeJob
    {
        private ExpertWeights[] _experts = [];
        private ExpertBuffers? _buffers;
        private int _parts;

        public void Run(WorkerPool pool, ExpertWeights[] experts, ExpertBuffers buffers)
        {
            (_experts, _buffers, _parts) = (experts, buffers, Parts(pool, buffers));
            pool.Run(this, _parts, 1, _parts / pool.ThreadCount);
        }

        public void Execute(int start, int end)
        {
            var b = _buffers!;
            for (int part = start; part < end; part++)
            {
                var (rowStart, rowEnd) = Share(inter, part, _parts);
                if (rowStart == rowEnd) continue; // a small model has fewer 4-row groups than parts
                for (int s = 0; s < b.SlotCount; s++)
                {
                    var expert = _experts[b.SlotExpert[s]];
                    int first = b.SlotStart[s], count = b.SlotStart[s + 1] - first;
                    var x = b.Gathered.AsSpan(first * d, count * d);
                    var gate = b.Gate.AsSpan(first * inter, count * inter);
                    var up = b.Up.AsSpan(first * inter, count * inter);
                    MatMul.MultiplyRows(expert.Gate, x, count, gate, inter, rowStart, rowEnd);
                    MatMul.MultiplyRows(expert.Up, x, count, up, inter, rowStart, rowEnd);
                    for (int j = 0; j < count; j++)
                        VectorMath.SwiGlu(gate.Slice(j * inter + rowStart, rowEnd - rowStart), up.Slice(j * inter + rowStart, rowEnd - rowStart));
                }
            }
        }
    }

    /// <summary>Phase 2, item p = row range p of every expert: down projections, each pair's output weighted into its token's output row.</summary>
    private sealed class DownJob(int d, int inter) : IRangeJob
    {
        private ExpertWeights[] _experts = [];
        private ExpertBuffers? _buffers;
        private float[] _output = [];
        private int _parts;

        public void Run(WorkerPool pool, ExpertWeights[] experts, ExpertBuffers buffers, float[] output)
        {
            (_experts, _buffers, _output, _parts) = (experts, buffers, output, Parts(pool, buffers));
            pool.Run(this, _parts, 1, _parts / pool.ThreadCount);
        }

        public void Execute(int start, int end)
        {
            var b = _buffers!;
            for (int part = start; part < end; part++)
            {
                var (rowStart, rowEnd) = Share(d, part, _parts);
                if (rowStart == rowEnd) continue;
                for (int s = 0; s < b.SlotCount; s++)
                {
                    var expert = _experts[b.SlotExpert[s]];
                    int first = b.SlotStart[s], count = b.SlotStart[s + 1] - first;
                    var down = b.Down.AsSpan(first * d, count * d);
                    MatMul.MultiplyRows(expert.Down, b.Gate.AsSpan(first * inter, count * inter), count, down, d, rowStart, rowEnd);
                    for (int j = 0; j < count; j++)
                    {
                        float w = b.PairWeight[first + j];
                        var target = _output.AsSpan(b.PairToken[first + j] * d, d);
                        for (int r = rowStart; r < rowEnd; r++) target[r] += w * down[j * d + r];
                    }
                }
            }
        }
    }
}
