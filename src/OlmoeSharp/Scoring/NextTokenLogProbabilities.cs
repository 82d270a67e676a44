using OlmoeSharp.Generation;

namespace OlmoeSharp.Scoring;

/// <summary>
/// Turns one step's logits and the token chosen from them into <see cref="TokenLogProbabilities"/>, with the
/// log-softmax <see cref="Scorer"/> uses, so a generated token's log-probability equals its score. Scratch is
/// allocated once per generation; only the reported alternatives are allocated per token. Tokens a response format
/// masked out (logit −∞) are never reported as alternatives: they were not possible, and −∞ has no JSON number.
/// </summary>
internal sealed class NextTokenLogProbabilities(int vocabSize, int topK)
{
    private readonly float[] _scratch = new float[vocabSize];
    private readonly int[] _top = new int[topK];
    private ulong[]? _sortKeys;

    public TokenLogProbabilities Measure(ReadOnlySpan<float> logits, int token)
    {
        var (max, logSum) = LogSoftmax.Normalizer(logits, _scratch);
        LogSoftmax.TopK(logits, _top, ref _sortKeys);
        int possible = 0; // the top tokens come largest first, so masked ones (−∞) are at the end
        while (possible < _top.Length && !float.IsNegativeInfinity(logits[_top[possible]])) possible++;
        var alternatives = new TokenAlternative[possible];
        LogSoftmax.Alternatives(logits, _top.AsSpan(0, possible), max, logSum, alternatives);
        return new TokenLogProbabilities((float)LogSoftmax.Of(logits[token], max, logSum), alternatives);
    }
}
