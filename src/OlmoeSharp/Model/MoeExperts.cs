using System.Numerics.Tensors;
using OlmoeSharp.Loading;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The expert half of a MoE layer for a block of tokens, dropless: every (token, chosen expert) pair is computed.
/// Pairs are bucketed by expert ("slots"), each slot's tokens gathered into one contiguous block so the expert's
/// weights are read once for all of them (one token in decode, ~16 per expert in a 128-token prompt). Each thread
/// takes the same contiguous share of every expert's rows, which keeps the work balanced however the tokens are
/// spread and lets each thread add its share of the down projection straight into the residual stream without
/// locks. Experts no token chose cost nothing. Contributions are summed in ascending expert order, as the
/// reference implementation does.
/// </summary>
internal sealed class MoeExperts : IRangeJob
{
    private readonly int _d;
    private readonly int _inter;
    private readonly int _k;
    private readonly int[] _expertCount;
    private int _threads;

    // Slots: the experts chosen by at least one token of the block, in ascending expert order.
    private readonly int[] _slotExpert;
    private readonly int[] _slotStart;
    private int _slotCount;

    // Pairs, grouped by slot: which token, with which router weight.
    private int[] _pairToken = [];
    private float[] _pairWeight = [];
    private float[] _gathered = [];   // [pairs, d]
    private float[] _gate = [];       // [pairs, I], then silu(gate)·up
    private float[] _up = [];         // [pairs, I]
    private float[] _down = [];       // [pairs, d]

    private ExpertWeights[] _experts = [];
    private float[] _residual = [];
    private bool _downPhase;

    public MoeExperts(OlmoeConfig config)
    {
        _d = config.HiddenSize;
        _inter = config.IntermediateSize;
        _k = config.NumExpertsPerToken;
        _expertCount = new int[config.NumExperts];
        _slotExpert = new int[config.NumExperts];
        _slotStart = new int[config.NumExperts + 1];
    }

    /// <summary>Sizes the scratch for blocks of up to <paramref name="tokens"/> tokens (once, not per call).</summary>
    public void EnsureCapacity(int tokens)
    {
        int pairs = tokens * _k;
        if (_pairToken.Length >= pairs) return;
        _pairToken = new int[pairs];
        _pairWeight = new float[pairs];
        _gathered = new float[pairs * _d];
        _gate = new float[pairs * _inter];
        _up = new float[pairs * _inter];
        _down = new float[pairs * _d];
    }

    /// <param name="pool">Threads to use.</param>
    /// <param name="experts">All experts of the layer.</param>
    /// <param name="tokens">Tokens in the block.</param>
    /// <param name="chosen">[tokens, k] chosen expert indices.</param>
    /// <param name="weights">[tokens, k] their router weights.</param>
    /// <param name="input">[tokens, d] post-attention-normed hidden states.</param>
    /// <param name="residual">[tokens, d] residual stream, updated in place.</param>
    public void Apply(WorkerPool pool, ExpertWeights[] experts, int tokens, int[] chosen, float[] weights, float[] input, float[] residual)
    {
        EnsureCapacity(tokens);
        Bucket(tokens, chosen, weights);
        for (int p = 0; p < tokens * _k; p++)
            input.AsSpan(_pairToken[p] * _d, _d).CopyTo(_gathered.AsSpan(p * _d, _d));

        _experts = experts;
        _residual = residual;
        _threads = pool.ThreadCount;
        _downPhase = false;
        pool.Run(this, _threads, 1);
        _downPhase = true;
        pool.Run(this, _threads, 1);
    }

    /// <summary>Counting sort of the (token, expert) pairs by expert.</summary>
    private void Bucket(int tokens, int[] chosen, float[] weights)
    {
        Array.Clear(_expertCount);
        for (int p = 0; p < tokens * _k; p++) _expertCount[chosen[p]]++;
        _slotCount = 0;
        int start = 0;
        for (int e = 0; e < _expertCount.Length; e++)
        {
            if (_expertCount[e] == 0) continue;
            _slotExpert[_slotCount] = e;
            _slotStart[_slotCount++] = start;
            start += _expertCount[e];
            _expertCount[e] = _slotStart[_slotCount - 1]; // becomes the next free pair index of expert e
        }
        _slotStart[_slotCount] = start;
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < _k; j++)
            {
                int p = _expertCount[chosen[t * _k + j]]++;
                _pairToken[p] = t;
                _pairWeight[p] = weights[t * _k + j];
            }
    }

    /// <summary>Item t is thread t's share: the same rows of every slot.</summary>
    public void Execute(int start, int end)
    {
        for (int thread = start; thread < end; thread++)
        {
            if (_downPhase) Down(thread); else GateUp(thread);
        }
    }

    private void GateUp(int thread)
    {
        var (rowStart, rowEnd) = Share(_inter, thread);
        for (int s = 0; s < _slotCount; s++)
        {
            var expert = _experts[_slotExpert[s]];
            int first = _slotStart[s], count = _slotStart[s + 1] - first;
            var x = _gathered.AsSpan(first * _d, count * _d);
            var gate = _gate.AsSpan(first * _inter, count * _inter);
            var up = _up.AsSpan(first * _inter, count * _inter);
            MatMul.MultiplyRows(expert.Gate, x, count, gate, _inter, rowStart, rowEnd);
            MatMul.MultiplyRows(expert.Up, x, count, up, _inter, rowStart, rowEnd);
            for (int j = 0; j < count; j++)
            {
                // silu(g)·u = sigmoid(g)·(g·u), vectorised over this thread's rows.
                var g = gate.Slice(j * _inter + rowStart, rowEnd - rowStart);
                var u = up.Slice(j * _inter + rowStart, rowEnd - rowStart);
                TensorPrimitives.Multiply(u, g, u);
                TensorPrimitives.Sigmoid(g, g);
                TensorPrimitives.Multiply(g, u, g);
            }
        }
    }

    private void Down(int thread)
    {
        var (rowStart, rowEnd) = Share(_d, thread);
        for (int s = 0; s < _slotCount; s++)
        {
            var expert = _experts[_slotExpert[s]];
            int first = _slotStart[s], count = _slotStart[s + 1] - first;
            var down = _down.AsSpan(first * _d, count * _d);
            MatMul.MultiplyRows(expert.Down, _gate.AsSpan(first * _inter, count * _inter), count, down, _d, rowStart, rowEnd);
            for (int j = 0; j < count; j++)
            {
                float w = _pairWeight[first + j];
                var target = _residual.AsSpan(_pairToken[first + j] * _d, _d);
                for (int r = rowStart; r < rowEnd; r++) target[r] += w * down[j * _d + r];
            }
        }
    }

    /// <summary>Rows [start, end) of <paramref name="rows"/> that thread <paramref name="thread"/> owns, on 4-row boundaries.</summary>
    private (int Start, int End) Share(int rows, int thread)
    {
        int Boundary(int t) => t >= _threads ? rows : (int)((long)rows * t / _threads) & ~(ProjectionJob.RowGranularity - 1);
        return (Boundary(thread), Boundary(thread + 1));
    }
}
