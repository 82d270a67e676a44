using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Token-choice routing: softmax over ALL experts' router logits, then the top k by probability (lowest index on
/// ties). The weights are the softmax probabilities themselves unless norm_topk_prob asks to renormalise them —
/// a softmax over the top-k logits alone would be wrong.
/// </summary>
internal static class MoeRouter
{
    /// <param name="logits">Router logits, one per expert; overwritten with the probabilities.</param>
    /// <param name="normalizeTopK">Renormalise the chosen weights to sum to one.</param>
    /// <param name="experts">Receives the chosen experts, most probable first (length k).</param>
    /// <param name="weights">Receives their weights (length k).</param>
    public static void Route(Span<float> logits, bool normalizeTopK, Span<int> experts, Span<float> weights)
    {
        VectorMath.SoftmaxInPlace(logits);
        VectorMath.TopK(logits, experts);
        float sum = 0;
        for (int i = 0; i < experts.Length; i++)
        {
            weights[i] = logits[experts[i]];
            sum += weights[i];
        }
        if (!normalizeTopK) return;
        for (int i = 0; i < weights.Length; i++) weights[i] /= sum;
    }
}
