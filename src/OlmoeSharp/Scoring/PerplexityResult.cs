namespace OlmoeSharp.Scoring;

/// <summary>
/// The outcome of <see cref="Scorer.Perplexity(ReadOnlySpan{int}, int, int, IProgress{PerplexityProgress}, CancellationToken)"/>,
/// with the numbers <c>llama-perplexity</c> prints.
/// </summary>
/// <param name="Perplexity">exp(<paramref name="MeanNegativeLogLikelihood"/>): llama.cpp's "Final estimate: PPL".</param>
/// <param name="Uncertainty">llama.cpp's "+/-": the standard error of the mean NLL times the perplexity (0 when it is undefined).</param>
/// <param name="MeanNegativeLogLikelihood">Mean of −log p over the scored tokens (nats).</param>
/// <param name="TokensScored">Tokens whose probability entered the mean.</param>
/// <param name="Windows">Windows evaluated (llama.cpp's chunks).</param>
/// <param name="Context">Tokens per window.</param>
/// <param name="Stride">0 for llama.cpp's default (non-overlapping windows scored on their second half), else the stride of its <c>--ppl-stride</c> mode.</param>
/// <param name="TotalTokens">Tokens in the input (the BOS included when the model adds one).</param>
/// <param name="RunningEstimates">The perplexity after each window, as llama.cpp prints it (<c>[1]12.3456,[2]…</c>).</param>
public sealed record PerplexityResult(
    double Perplexity,
    double Uncertainty,
    double MeanNegativeLogLikelihood,
    int TokensScored,
    int Windows,
    int Context,
    int Stride,
    int TotalTokens,
    IReadOnlyList<double> RunningEstimates);

/// <summary>Reported after every window of a perplexity run.</summary>
/// <param name="Window">Windows done so far (1-based).</param>
/// <param name="Windows">Windows in all.</param>
/// <param name="TokensScored">Tokens scored so far.</param>
/// <param name="Perplexity">The running estimate: exp of the mean NLL so far.</param>
/// <param name="Elapsed">Time since the run started.</param>
public readonly record struct PerplexityProgress(int Window, int Windows, int TokensScored, double Perplexity, TimeSpan Elapsed);
