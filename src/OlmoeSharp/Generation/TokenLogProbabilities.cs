using OlmoeSharp.Scoring;

namespace OlmoeSharp.Generation;

/// <summary>How probable the model found a generated token, and the most probable tokens at that step.</summary>
/// <param name="LogProbability">
/// Natural-log probability of the generated token: the max-subtracted log-softmax of the step's logits over the whole
/// vocabulary, before repetition penalty, temperature and the sampling filters (what the model itself predicts).
/// </param>
/// <param name="Alternatives">The <see cref="GenerationOptions.TopLogProbs"/> most probable tokens, most probable first (lowest id on ties).</param>
public sealed record TokenLogProbabilities(float LogProbability, IReadOnlyList<TokenAlternative> Alternatives);
