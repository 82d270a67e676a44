using OlmoeSharp.Loading;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// The chosen experts of one token as two parallel jobs. Gate/up: for every chosen expert s and row r,
/// act[s, r] = silu(gate_s[r]·m) · (up_s[r]·m). Down: for every output row r, h[r] += Σ_s w_s · (down_s[r]·act_s),
/// added straight into the residual stream. Unchosen experts cost nothing.
/// </summary>
internal sealed class MoeExperts
{
    private readonly GateUpJob _gateUp;
    private readonly DownJob _down;

    public MoeExperts(OlmoeConfig config)
    {
        int k = config.NumExpertsPerToken, inter = config.IntermediateSize, d = config.HiddenSize;
        _gateUp = new GateUpJob(k, inter);
        _down = new DownJob(k, inter, d);
    }

    /// <param name="pool">Threads to use.</param>
    /// <param name="experts">All experts of the layer.</param>
    /// <param name="chosen">Indices of the chosen experts.</param>
    /// <param name="weights">Their router weights.</param>
    /// <param name="input">The post-attention-normed hidden state.</param>
    /// <param name="residual">The residual stream, updated in place.</param>
    public void Apply(WorkerPool pool, ExpertWeights[] experts, ReadOnlySpan<int> chosen, ReadOnlySpan<float> weights, float[] input, float[] residual)
    {
        for (int s = 0; s < chosen.Length; s++)
        {
            _gateUp.Experts[s] = experts[chosen[s]];
            _down.Experts[s] = experts[chosen[s]];
            _down.Weights[s] = weights[s];
        }
        _gateUp.Input = input;
        _gateUp.Count = _down.Count = chosen.Length;
        pool.Run(_gateUp, chosen.Length * _gateUp.Inter, MatVecJob.RowGranularity);;

        _down.Activations = _gateUp.Activations;
        _down.Residual = residual;
        pool.Run(_down, residual.Length, MatVecJob.RowGranularity);
    }

    private sealed class GateUpJob(int k, int inter) : IRangeJob
    {
        public readonly int Inter = inter;
        public readonly ExpertWeights[] Experts = new ExpertWeights[k];
        public readonly float[] Activations = new float[k * inter];
        private readonly float[] _up = new float[k * inter];
        public float[] Input = [];
        public int Count;

        public void Execute(int start, int end)
        {
            while (start < end)
            {
                int slot = start / Inter;
                int rowStart = start - slot * Inter;
                int rowEnd = Math.Min(end - slot * Inter, Inter);
                var act = Activations.AsSpan(slot * Inter, Inter);
                var up = _up.AsSpan(slot * Inter, Inter);
                MatVec.MultiplyRows(Experts[slot].Gate, Input, act, rowStart, rowEnd);
                MatVec.MultiplyRows(Experts[slot].Up, Input, up, rowStart, rowEnd);
                for (int r = rowStart; r < rowEnd; r++) act[r] = VectorMath.Silu(act[r]) * up[r];
                start = slot * Inter + rowEnd;
            }
        }
    }

    private sealed class DownJob(int k, int inter, int d) : IRangeJob
    {
        public readonly ExpertWeights[] Experts = new ExpertWeights[k];
        public readonly float[] Weights = new float[k];
        private readonly float[] _outputs = new float[k * d];
        public float[] Activations = [];
        public float[] Residual = [];
        public int Count;

        public void Execute(int start, int end)
        {
            for (int s = 0; s < Count; s++)
                MatVec.MultiplyRows(Experts[s].Down, Activations.AsSpan(s * inter, inter), _outputs.AsSpan(s * d, d), start, end);
            for (int r = start; r < end; r++)
            {
                float sum = 0;
                for (int s = 0; s < Count; s++) sum += Weights[s] * _outputs[s * d + r];
                Residual[r] += sum;
            }
        }
    }
}
