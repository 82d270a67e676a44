namespace OlmoeSharp.Analysis;

/// <summary>A token routed to an expert as the router's first choice (<see cref="VocabularySpecialisation.TopTokens"/>).</summary>
/// <param name="Token">The token id.</param>
/// <param name="Count">Occurrences of the token whose first choice was the expert.</param>
/// <param name="Occurrences">Occurrences of the token in all.</param>
public readonly record struct ExpertToken(int Token, int Count, int Occurrences)
{
    /// <summary><see cref="Count"/> / <see cref="Occurrences"/>: how much of the token goes to the expert.</summary>
    public double Share => (double)Count / Occurrences;
}
