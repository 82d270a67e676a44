using System.Collections;

namespace OlmoeSharp.Scoring;

/// <summary>One of the model's most probable next tokens at a position.</summary>
/// <param name="Token">The token id.</param>
/// <param name="LogProbability">Its natural-log probability under the model's next-token distribution.</param>
public readonly record struct TokenAlternative(int Token, float LogProbability);

/// <summary>How probable the model found one token of a scored sequence, given every token before it.</summary>
/// <param name="Position">The token's index in <see cref="TokenScores.Tokens"/> (1 or more: the first token has no prediction).</param>
/// <param name="Token">The token id at <paramref name="Position"/>.</param>
/// <param name="LogProbability">log p(token | tokens before it), natural log, from a max-subtracted log-softmax of the logits.</param>
/// <param name="Rank">
/// How many tokens the model ranked above it: those with a larger logit, and those with an equal logit and a lower id.
/// 0 means greedy (argmax, lowest id on ties) decoding would have chosen it.
/// </param>
/// <param name="Alternatives">The <see cref="TokenScores.TopK"/> most probable tokens at this position, most probable first (lowest id on ties).</param>
public readonly record struct TokenScore(int Position, int Token, float LogProbability, int Rank, ReadOnlyMemory<TokenAlternative> Alternatives)
{
    /// <summary>True when greedy decoding would have produced this token (<see cref="Rank"/> is 0).</summary>
    public bool IsGreedy => Rank == 0;
}

/// <summary>
/// The result of <see cref="Scorer.Score(ReadOnlySpan{int}, int, CancellationToken)"/>: for every token after the
/// first, its log-probability given the tokens before it, its rank, and the top-k alternatives at that position.
/// Element <c>i</c> scores token <c>i + 1</c>.
/// </summary>
public sealed class TokenScores : IReadOnlyList<TokenScore>
{
    private readonly int[] _tokens;
    private readonly float[] _logProbabilities;
    private readonly int[] _ranks;
    private readonly TokenAlternative[] _alternatives;

    internal TokenScores(int[] tokens, float[] logProbabilities, int[] ranks, TokenAlternative[] alternatives, int topK, double totalLogProbability)
    {
        _tokens = tokens;
        _logProbabilities = logProbabilities;
        _ranks = ranks;
        _alternatives = alternatives;
        TopK = topK;
        TotalLogProbability = totalLogProbability;
    }

    /// <summary>The scored sequence, as evaluated (with the BOS token first when the model adds one).</summary>
    public ReadOnlySpan<int> Tokens => _tokens;

    /// <summary>Alternatives kept per position.</summary>
    public int TopK { get; }

    /// <summary>Tokens scored: one fewer than <see cref="Tokens"/>.</summary>
    public int Count => _logProbabilities.Length;

    /// <summary>log p(token i + 1 | tokens 0..i) for every scored token, in order.</summary>
    public ReadOnlySpan<float> LogProbabilities => _logProbabilities;

    /// <summary>Σ log p over the scored tokens, accumulated in double precision.</summary>
    public double TotalLogProbability { get; }

    /// <summary>−<see cref="TotalLogProbability"/> / <see cref="Count"/>.</summary>
    public double MeanNegativeLogLikelihood => -TotalLogProbability / Count;

    /// <summary>exp(<see cref="MeanNegativeLogLikelihood"/>): the perplexity of the sequence in one window.</summary>
    public double Perplexity => Math.Exp(MeanNegativeLogLikelihood);

    /// <summary>The score of token <paramref name="index"/> + 1.</summary>
    public TokenScore this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return new TokenScore(index + 1, _tokens[index + 1], _logProbabilities[index], _ranks[index], _alternatives.AsMemory(index * TopK, TopK));
        }
    }

    /// <inheritdoc/>
    public IEnumerator<TokenScore> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
