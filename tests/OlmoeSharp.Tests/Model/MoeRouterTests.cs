using OlmoeSharp.Model;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// The router alone: softmax over all experts, the top k by probability (lowest index on ties), and the weights
/// left as probabilities unless norm_topk_prob renormalises them — checked against the definition in double
/// precision, tolerance 1e-6.
/// </summary>
public sealed class MoeRouterTests
{
    private static double[] Softmax(float[] logits)
    {
        double max = logits.Max();
        var e = logits.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    [Theory]
    [InlineData(64, 8, false, 1)]
    [InlineData(64, 8, true, 2)]
    [InlineData(8, 2, false, 3)]
    [InlineData(4, 1, true, 4)]
    [InlineData(16, 16, false, 5)]
    public void Chooses_the_k_most_probable_experts_with_their_probabilities(int experts, int k, bool normalize, int seed)
    {
        var random = new Random(seed);
        var logits = Enumerable.Range(0, experts).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        var probabilities = Softmax(logits);
        var expectedOrder = Enumerable.Range(0, experts).OrderByDescending(e => probabilities[e]).ThenBy(e => e).Take(k).ToArray();

        var chosen = new int[k];
        var weights = new float[k];
        MoeRouter.Route((float[])logits.Clone(), normalize, chosen, weights);

        Assert.Equal(expectedOrder, chosen);
        double chosenMass = expectedOrder.Sum(e => probabilities[e]);
        for (int i = 0; i < k; i++)
        {
            double expected = probabilities[chosen[i]] / (normalize ? chosenMass : 1);
            Assert.True(Math.Abs(expected - weights[i]) <= 1e-6, $"weight {i}: expected {expected}, got {weights[i]}");
        }
    }

    [Fact]
    public void Weights_are_not_a_softmax_over_the_chosen_logits_alone()
    {
        // Two experts chosen of four: their softmax probabilities sum to less than one unless renormalised.
        float[] logits = [2f, 1f, 0f, -1f];
        var chosen = new int[2];
        var weights = new float[2];
        MoeRouter.Route((float[])logits.Clone(), normalizeTopK: false, chosen, weights);
        Assert.Equal([0, 1], chosen);
        Assert.InRange(weights[0] + weights[1], 0.8, 0.9); // e²+e¹ over e²+e¹+e⁰+e⁻¹ ≈ 0.87
        MoeRouter.Route((float[])logits.Clone(), normalizeTopK: true, chosen, weights);
        Assert.Equal(1.0, weights[0] + weights[1], 6);
    }

    [Fact]
    public void Ties_go_to_the_lower_expert_index()
    {
        float[] logits = [0f, 3f, 3f, 1f, 3f];
        var chosen = new int[3];
        MoeRouter.Route(logits, normalizeTopK: false, chosen, new float[3]);
        Assert.Equal([1, 2, 4], chosen);
    }

    [Fact]
    public void Large_logits_do_not_overflow()
    {
        float[] logits = [1000f, 999f, -1000f];
        var chosen = new int[2];
        var weights = new float[2];
        MoeRouter.Route(logits, normalizeTopK: false, chosen, weights);
        Assert.Equal([0, 1], chosen);
        Assert.Equal(1 / (1 + Math.Exp(-1)), weights[0], 5);
        Assert.All(weights, w => Assert.True(float.IsFinite(w)));
    }
}
