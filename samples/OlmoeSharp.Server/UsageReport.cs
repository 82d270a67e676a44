using OlmoeSharp.Generation;
using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary>A request's usage as OpenAI reports it, from its plan and its choices' <see cref="GenerationUsage"/>.</summary>
internal static class UsageReport
{
    /// <param name="plan">The request: each prompt is counted once, however many choices it has.</param>
    /// <param name="usages">Each choice's usage by index (null for one that did not finish).</param>
    public static Usage Of(GenerationPlan plan, IReadOnlyList<GenerationUsage?> usages)
    {
        int completion = 0, cached = 0;
        for (int i = 0; i < usages.Count; i++)
        {
            completion += usages[i]?.GeneratedTokens ?? 0;
            // Cached prompt tokens, like the prompt, count once per prompt: its first choice's.
            if (i % plan.Choices == 0) cached += usages[i]?.CachedPromptTokens ?? 0;
        }
        return new Usage
        {
            PromptTokens = plan.PromptTokens,
            CompletionTokens = completion,
            PromptTokensDetails = new PromptTokensDetails { CachedTokens = cached },
        };
    }

    /// <summary>OpenAI's <c>finish_reason</c>.</summary>
    public static string FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => "cancelled", // never sent: a cancelled sequence's client is gone
    };
}
