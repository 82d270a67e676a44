using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Cli;

/// <summary>
/// For <c>bench --concurrency</c>: how many distinct experts each batched decode step reads per layer. A step of B
/// decoding sequences reads every expert any of them chose once, so that count sets the bytes the step streams and,
/// with them, the most the step can gain over one stream at the same memory bandwidth (<see cref="Ceiling"/>) —
/// measured on the run's own routing rather than assumed. Only steps whose every token is a decoded one count
/// (a prompt token, at a position before <paramref name="promptTokens"/>, marks its step as a prefill step).
/// Steps are told apart by <paramref name="steps"/>, the engine's count of finished steps, which stays the same
/// while a step's decisions arrive. Thread-safe: concurrent generations report from the scheduler's thread.
/// </summary>
internal sealed class ExpertsPerStep(int layers, int experts, int promptTokens, Func<long> steps) : IRouterObserver
{
    private readonly object _lock = new();
    private readonly int _words = (experts + 63) / 64;
    private readonly ulong[] _chosen = new ulong[layers * ((experts + 63) / 64)];
    private readonly int[] _tokens = new int[layers];
    private readonly Dictionary<int, (double Experts, long Layers)> _bySequences = [];
    private long _step = -1;
    private bool _prefill;

    /// <inheritdoc />
    public void OnRouted(in RouterDecision decision)
    {
        lock (_lock)
        {
            long step = steps();
            if (step != _step)
            {
                Close();
                _step = step;
            }
            if (decision.Position < promptTokens)
            {
                _prefill = true;
                return;
            }
            var chosen = _chosen.AsSpan(decision.Layer * _words, _words);
            foreach (int e in decision.Experts) chosen[e / 64] |= 1UL << (e % 64);
            _tokens[decision.Layer]++;
        }
    }

    /// <summary>
    /// The mean number of distinct experts per layer over the decode steps of <paramref name="sequences"/> tokens seen
    /// so far; null when there was none.
    /// </summary>
    public double? MeanExperts(int sequences)
    {
        lock (_lock)
        {
            Close();
            _step = -1;
            return _bySequences.TryGetValue(sequences, out var sum) ? sum.Experts / sum.Layers : null;
        }
    }

    /// <summary>
    /// Aggregate speed over one stream's that a step of <paramref name="sequences"/> tokens reading
    /// <paramref name="meanExperts"/> experts per layer reaches at the bandwidth one stream reads at: the tokens times
    /// one token's bytes, over the step's bytes (the shared weights once, each distinct expert once).
    /// </summary>
    public static double Ceiling(int sequences, double meanExperts, long bytesPerToken, long bytesPerExpert, int layers, int expertsPerToken)
    {
        double shared = bytesPerToken - (double)layers * expertsPerToken * bytesPerExpert;
        return sequences * (double)bytesPerToken / (shared + layers * meanExperts * bytesPerExpert);
    }

    /// <summary>Under the lock: adds the step being collected to its tally (unless it carried prompt tokens) and clears it.</summary>
    private void Close()
    {
        int sequences = _tokens[0];
        bool whole = !_prefill && sequences > 0;
        foreach (int tokens in _tokens) whole &= tokens == sequences;
        if (whole)
        {
            double distinct = 0;
            foreach (ulong word in _chosen) distinct += ulong.PopCount(word);
            var sum = _bySequences.GetValueOrDefault(sequences);
            _bySequences[sequences] = (sum.Experts + distinct, sum.Layers + layers);
        }
        Array.Clear(_chosen);
        Array.Clear(_tokens);
        _prefill = false;
    }
}
