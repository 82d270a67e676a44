namespace OlmoeSharp.Generation;

/// <summary>
/// Picks the next token from logits: repetition penalty, temperature, top-k, top-p and min-p, then a draw from a
/// seeded generator, so a seed reproduces a text exactly. Tokens at or past <c>sampleable</c> (the padding rows of
/// OLMoE's embedding) are never chosen. A logit of −∞ marks a token that may not be chosen (constrained decoding
/// masks this way): it gets probability 0 under every setting, greedy included. NaN and +∞ are refused rather than
/// sampled. All scratch is allocated once, so sampling a token allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly GenerationOptions _options;
    private readonly int _sampleable;
    private readonly float[] _probabilities;
    private readonly int[] _order;
    private readonly ProbabilityThenId _byProbabilityThenId;
    private ulong _state;

    /// <param name="options">The sampling options (validated here).</param>
    /// <param name="sampleable">Tokens [0, sampleable) may be chosen; the rest of the vocabulary never.</param>
    public Sampler(GenerationOptions options, int sampleable)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleable, 1);
        _options = options;
        _sampleable = sampleable;
        _probabilities = new float[sampleable];
        _order = new int[sampleable];
        _byProbabilityThenId = new ProbabilityThenId(_probabilities);
        _state = options.Seed ?? (ulong)Random.Shared.NextInt64();
    }

    /// <summary>Chooses the next token.</summary>
    /// <param name="logits">Next-token logits (at least <c>sampleable</c> of them).</param>
    /// <param name="history">Tokens seen so far (prompt and output), for the repetition penalty.</param>
    /// <exception cref="InvalidOperationException">A logit is NaN or +∞, or every logit is −∞.</exception>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> history)
    {
        if (logits.Length < _sampleable) throw new ArgumentException($"expected at least {_sampleable} logits.", nameof(logits));
        var scores = _probabilities.AsSpan();
        logits[.._sampleable].CopyTo(scores);
        for (int i = 0; i < scores.Length; i++)
            if (float.IsNaN(scores[i]) || float.IsPositiveInfinity(scores[i]))
                throw new InvalidOperationException($"the model produced a non-finite logit ({scores[i]}) for token {i}; refusing to sample from it.");

        if (_options.RepetitionPenalty != 1f)
            foreach (int id in history)
                if ((uint)id < (uint)scores.Length)
                    scores[id] = scores[id] > 0 ? scores[id] / _options.RepetitionPenalty : scores[id] * _options.RepetitionPenalty;

        int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(scores);
        if (float.IsNegativeInfinity(scores[best])) throw new InvalidOperationException("every token is masked (all logits are −∞); there is nothing to sample.");
        if (_options.Temperature == 0f) return best;

        // Softmax of scores / T, stable.
        float max = scores[best], inverseT = 1f / _options.Temperature;
        double sum = 0;
        for (int i = 0; i < scores.Length; i++) sum += scores[i] = MathF.Exp((scores[i] - max) * inverseT);
        for (int i = 0; i < scores.Length; i++) scores[i] = (float)(scores[i] / sum);

        int candidates = Filter(scores, best);
        return Draw(candidates);
    }

    /// <summary>Applies min-p, top-k and top-p; leaves the surviving candidates in _order[0..count).</summary>
    private int Filter(Span<float> probs, int best)
    {
        float minProbability = _options.MinP * probs[best];
        int count = 0;
        for (int i = 0; i < probs.Length; i++)
            if (probs[i] >= minProbability && probs[i] > 0) _order[count++] = i;
        if (count == 0) _order[count++] = best;

        bool needOrder = (_options.TopK > 0 && _options.TopK < count) || _options.TopP < 1f;
        if (!needOrder) return count;

        // Most likely first, the lower id first among equals, so the result never depends on the sort algorithm.
        Array.Sort(_order, 0, count, _byProbabilityThenId);
        if (_options.TopK > 0) count = Math.Min(count, _options.TopK);
        if (_options.TopP < 1f)
        {
            double cumulative = 0;
            for (int i = 0; i < count; i++)
            {
                cumulative += probs[_order[i]];
                if (cumulative >= _options.TopP) return i + 1;
            }
        }
        return count;
    }

    /// <summary>Draws among the candidates in proportion to their (renormalised) probabilities.</summary>
    private int Draw(int count)
    {
        double total = 0;
        for (int i = 0; i < count; i++) total += _probabilities[_order[i]];
        double target = NextDouble() * total, running = 0;
        for (int i = 0; i < count; i++)
        {
            running += _probabilities[_order[i]];
            if (target < running) return _order[i];
        }
        return _order[count - 1];
    }

    private sealed class ProbabilityThenId(float[] probabilities) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            int byProbability = probabilities[b].CompareTo(probabilities[a]);
            return byProbability != 0 ? byProbability : a.CompareTo(b);
        }
    }

    /// <summary>SplitMix64 stream: fast, and the same on every platform and .NET version.</summary>
    private double NextDouble()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
