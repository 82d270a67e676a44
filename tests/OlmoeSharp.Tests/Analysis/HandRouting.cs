using OlmoeSharp.Analysis;

namespace OlmoeSharp.Tests.Analysis;

/// <summary>Routings built by hand, whose metrics have answers known in advance.</summary>
internal static class HandRouting
{
    /// <summary>
    /// A routing of <paramref name="tokens"/> in which <paramref name="choose"/>(position, layer) gives the experts,
    /// in the router's order; the weights are made up (decreasing with rank).
    /// </summary>
    public static InputRouting Build(int[] tokens, int numExperts, Func<int, int, int[]> choose, int layers = 1, string name = "hand")
    {
        int k = choose(0, 0).Length;
        var experts = new ushort[tokens.Length * layers * k];
        var weights = new float[experts.Length];
        for (int p = 0; p < tokens.Length; p++)
            for (int l = 0; l < layers; l++)
            {
                int[] chosen = choose(p, l);
                for (int r = 0; r < k; r++)
                {
                    experts[(p * layers + l) * k + r] = (ushort)chosen[r];
                    weights[(p * layers + l) * k + r] = 1f / (r + 2);
                }
            }
        return new InputRouting(name, tokens, layers, k, numExperts, experts, weights);
    }

    /// <summary>A random routing: each token picks <paramref name="k"/> distinct experts from a skewed distribution, per layer.</summary>
    public static InputRouting Random(int seed, int length, int layers, int k, int numExperts, int vocabulary, string name = "random")
    {
        var random = new Random(seed);
        int[] tokens = [.. Enumerable.Range(0, length).Select(_ => random.Next(vocabulary))];
        return Build(tokens, numExperts, (p, l) =>
        {
            var chosen = new List<int>();
            while (chosen.Count < k)
            {
                // Squaring skews the draw towards low ids, so loads, pairs and favourites are uneven.
                int e = (int)(numExperts * Math.Pow(random.NextDouble(), 2));
                if (!chosen.Contains(e)) chosen.Add(e);
            }
            return [.. chosen];
        }, layers, name);
    }
}
