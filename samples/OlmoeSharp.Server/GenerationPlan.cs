using OlmoeSharp.Generation;

namespace OlmoeSharp.Server;

/// <summary>What a validated request asks for: the sequences to run and how to answer.</summary>
/// <param name="Sequences">One per prompt × <c>n</c>, in choice-index order.</param>
/// <param name="Stream">Answer with server-sent events.</param>
/// <param name="IncludeUsage">Streaming: end with a chunk carrying the usage.</param>
/// <param name="LogProbs">Report log-probabilities.</param>
/// <param name="Choices">The request's <c>n</c>: sequences <c>p × n … p × n + n − 1</c> share prompt <c>p</c>.</param>
internal sealed record GenerationPlan(IReadOnlyList<SequencePlan> Sequences, bool Stream, bool IncludeUsage, bool LogProbs, int Choices)
{
    /// <summary>Prompt tokens of the request as OpenAI counts them: each prompt once, however many choices it has.</summary>
    public int PromptTokens => Sequences.Where(s => s.Index % Choices == 0).Sum(s => s.PromptTokens.Count);
}

/// <summary>One sequence: choice <paramref name="Index"/>'s prompt tokens and its options (its own seed).</summary>
internal sealed record SequencePlan(int Index, IReadOnlyList<int> PromptTokens, GenerationOptions Options);
