using OlmoeSharp.Analysis;

namespace OlmoeSharp.Tests.Analysis;

/// <summary>
/// The router analyses on hand-built routings whose answers are known (uniform routing, one hot expert, two experts
/// always together, one token per expert, identical and disjoint checkpoints), and on random routings against a
/// direct count written out here.
/// </summary>
public sealed class RoutingMetricsTests
{
    private const int Experts = 8;

    /// <summary>Position p picks experts 2p and 2p + 1 (mod 8): over 4m positions every expert gets exactly as many tokens.</summary>
    private static InputRouting Uniform(int length) =>
        HandRouting.Build([.. Enumerable.Range(0, length)], Experts, (p, _) => [2 * p % Experts, (2 * p + 1) % Experts], layers: 2);

    [Fact]
    public void Uniform_routing_gives_every_expert_the_same_load()
    {
        var load = ExpertLoad.Of(Uniform(40));
        Assert.Equal(40, load.Tokens);
        for (int l = 0; l < 2; l++)
            for (int e = 0; e < Experts; e++)
            {
                Assert.Equal(10, load.Assignments(l, e)); // 40 tokens × 2 choices / 8 experts
                Assert.Equal(1.0 / Experts, load.Share(l, e), 12);
                // First choices are the even experts only, each a quarter of the tokens.
                Assert.Equal(e % 2 == 0 ? 0.25 : 0, load.FirstChoiceShare(l, e), 12);
            }
    }

    [Fact]
    public void One_hot_expert_takes_every_first_choice_and_its_partners_share_the_rest()
    {
        // Expert 3 first for every token, the second choice cycling over the 7 others.
        int[] others = [0, 1, 2, 4, 5, 6, 7];
        var routing = HandRouting.Build([.. Enumerable.Range(0, 70)], Experts, (p, _) => [3, others[p % 7]]);
        var load = ExpertLoad.Of(routing);
        Assert.Equal(1.0, load.FirstChoiceShare(0, 3));
        Assert.Equal(0.5, load.Share(0, 3));
        foreach (int e in others) Assert.Equal(0.5 / 7, load.Share(0, e), 12);

        var co = CoActivation.Of([routing]);
        foreach (int e in others)
        {
            Assert.Equal(1.0, co.Probability(0, e, 3));     // whenever e is chosen, 3 is too
            Assert.Equal(1.0 / 7, co.Probability(0, 3, e), 12);
        }
        Assert.Equal(0, co.Together(0, 0, 1));           // the others never meet
        Assert.Equal(1.0, co.Probability(0, 3, 3));
    }

    [Fact]
    public void Two_experts_always_together_co_activate_with_probability_one()
    {
        // Half the tokens pick {1, 5}, the other half {2, 6}; within a pair the order alternates.
        var routing = HandRouting.Build([.. Enumerable.Range(0, 20)], Experts,
            (p, _) => (p % 4) switch { 0 => [1, 5], 1 => [5, 1], 2 => [2, 6], _ => [6, 2] });
        var co = CoActivation.Of([routing]);
        Assert.Equal(1.0, co.Probability(0, 1, 5));
        Assert.Equal(1.0, co.Probability(0, 5, 1));
        Assert.Equal(1.0, co.Probability(0, 2, 6));
        Assert.Equal(0.0, co.Probability(0, 1, 2));
        Assert.Equal(0.0, co.Probability(0, 5, 6));
        Assert.True(double.IsNaN(co.Probability(0, 0, 1))); // expert 0 is never chosen: undefined
        Assert.Equal((1, 5, 1.0), co.StrongestPair(0));
        Assert.Equal(10, co.Chosen(0, 1));
        Assert.Equal(10, co.Together(0, 5, 1));
    }

    [Fact]
    public void Co_activation_counts_every_pair_in_the_top_k_not_only_neighbours()
    {
        // k = 3: experts 0 and 2 are never adjacent in the router's order, but always chosen together.
        var routing = HandRouting.Build([1, 2, 3], Experts, (_, _) => [0, 1, 2]);
        Assert.Equal(1.0, CoActivation.Of([routing]).Probability(0, 0, 2));
    }

    [Fact]
    public void Vocabulary_specialisation_weighs_each_token_id_alike_and_by_occurrence()
    {
        // Token 7 (6 times) always goes to expert 2; token 9 (4 times) goes to 4, 5, 4, 5; token 11 once, to 6.
        int[] tokens = [7, 9, 7, 9, 7, 9, 7, 9, 7, 7, 11];
        int nine = 0;
        var routing = HandRouting.Build(tokens, Experts, (p, _) => tokens[p] switch
        {
            7 => [2, 0],
            9 => nine++ % 2 == 0 ? [4, 0] : [5, 0],
            _ => [6, 0],
        });
        var v = VocabularySpecialisation.Of([routing]);
        Assert.Equal(3, v.TokenIds(0));
        Assert.Equal((1.0 + 0.5 + 1.0) / 3, v.Specialisation(0), 12);
        Assert.Equal((6 + 2 + 1) / 11.0, v.OccurrenceWeighted(0), 12);

        // Ids seen fewer than 4 times are left out of the averages.
        var frequent = VocabularySpecialisation.Of([routing], minOccurrences: 4);
        Assert.Equal(2, frequent.TokenIds(0));
        Assert.Equal((1.0 + 0.5) / 2, frequent.Specialisation(0), 12);

        Assert.Equal([new ExpertToken(7, 6, 6)], v.TopTokens(0, 2));
        Assert.Equal([new ExpertToken(9, 2, 4)], v.TopTokens(0, 4));
        Assert.Equal(0.5, v.TopTokens(0, 4)[0].Share);
        Assert.Empty(v.TopTokens(0, 0)); // only ever a second choice
    }

    [Fact]
    public void Saturation_is_one_for_identical_checkpoints_and_zero_for_disjoint_ones()
    {
        var final = Uniform(24);
        Assert.Equal(1.0, RouterSaturation.Compare([final], [final]).TopK(1));
        Assert.Equal(1.0, RouterSaturation.Compare([final], [final]).TopOne(0));

        // The other checkpoint picks the experts 4 ids further on: never one of the final's.
        var disjoint = HandRouting.Build([.. final.Tokens], Experts, (p, _) => [(2 * p + 4) % Experts, (2 * p + 5) % Experts], layers: 2);
        var none = RouterSaturation.Compare([final], [disjoint]);
        Assert.Equal(0.0, none.TopK(0));
        Assert.Equal(0.0, none.TopOne(1));

        // Same experts, swapped order: all of the top-k shared, no first choice alike.
        var swapped = HandRouting.Build([.. final.Tokens], Experts, (p, _) => [(2 * p + 1) % Experts, 2 * p % Experts], layers: 2);
        var reordered = RouterSaturation.Compare([final], [swapped]);
        Assert.Equal(1.0, reordered.TopK(0));
        Assert.Equal(0.0, reordered.TopOne(0));
        Assert.Equal(24, reordered.Tokens);
    }

    [Fact]
    public void The_analyses_agree_with_a_direct_count_on_random_routings()
    {
        var routings = new[] { HandRouting.Random(1, 300, 3, 4, 16, 40, "a"), HandRouting.Random(2, 200, 3, 4, 16, 40, "b") };
        var decisions = routings.SelectMany(r => Enumerable.Range(0, r.Length).SelectMany(p =>
            Enumerable.Range(0, 3).Select(l => (Layer: l, Token: r.Tokens[p], Experts: r.Experts(p, l).ToArray())))).ToList();

        var load = ExpertLoad.Of(routings);
        var co = CoActivation.Of(routings);
        var v = VocabularySpecialisation.Of(routings, topTokens: 3);
        for (int l = 0; l < 3; l++)
        {
            var inLayer = decisions.Where(d => d.Layer == l).ToList();
            for (int a = 0; a < 16; a++)
            {
                int withA = inLayer.Count(d => d.Experts.Contains((ushort)a));
                Assert.Equal(withA / (500.0 * 4), load.Share(l, a), 12);
                Assert.Equal(inLayer.Count(d => d.Experts[0] == a) / 500.0, load.FirstChoiceShare(l, a), 12);
                for (int b = 0; b < 16; b++)
                {
                    if (a == b || withA == 0) continue;
                    int both = inLayer.Count(d => d.Experts.Contains((ushort)a) && d.Experts.Contains((ushort)b));
                    Assert.Equal((double)both / withA, co.Probability(l, a, b), 12);
                }
            }

            var byToken = inLayer.GroupBy(d => d.Token).Select(g => (Token: g.Key, N: g.Count(), Max: g.GroupBy(d => d.Experts[0]).Max(x => x.Count()))).ToList();
            Assert.Equal(byToken.Average(t => (double)t.Max / t.N), v.Specialisation(l), 12);
            Assert.Equal(byToken.Sum(t => t.Max) / 500.0, v.OccurrenceWeighted(l), 12);
            for (int e = 0; e < 16; e++)
            {
                var expected = inLayer.Where(d => d.Experts[0] == e).GroupBy(d => d.Token)
                    .Select(g => new ExpertToken(g.Key, g.Count(), inLayer.Count(d => d.Token == g.Key)))
                    .OrderByDescending(t => t.Count).ThenByDescending(t => t.Share).ThenBy(t => t.Token).Take(3);
                Assert.Equal(expected, v.TopTokens(l, e));
            }
        }

        // Saturation against a second random routing of the same tokens: the mean overlap, counted directly.
        var other = routings.Select((r, i) => HandRouting.Build([.. r.Tokens], 16, (p, l) => [.. HandRouting.Random(100 + i * 1000 + p, 1, 3, 4, 16, 40).Experts(0, l)], layers: 3)).ToArray();
        var saturation = RouterSaturation.Compare(routings, other);
        for (int l = 0; l < 3; l++)
        {
            var pairs = routings.Zip(other).SelectMany(x => Enumerable.Range(0, x.First.Length).Select(p => (A: x.First.Experts(p, l).ToArray(), B: x.Second.Experts(p, l).ToArray()))).ToList();
            Assert.Equal(pairs.Average(x => x.A.Intersect(x.B).Count() / 4.0), saturation.TopK(l), 12);
            Assert.Equal(pairs.Average(x => x.A[0] == x.B[0] ? 1.0 : 0.0), saturation.TopOne(l), 12);
        }
    }

    [Fact]
    public void Routings_of_other_shapes_or_tokens_are_refused()
    {
        var a = Uniform(8);
        var oneLayer = HandRouting.Build([.. a.Tokens], Experts, (p, _) => [0, 1]);
        Assert.Throws<ArgumentException>(() => ExpertLoad.Of([a, oneLayer]));
        Assert.Throws<ArgumentException>(() => CoActivation.Of([]));
        Assert.Throws<ArgumentException>(() => RouterSaturation.Compare([a], [oneLayer]));
        Assert.Throws<ArgumentException>(() => RouterSaturation.Compare([a], [a, a]));
        var otherTokens = HandRouting.Build([.. a.Tokens.ToArray().Reverse()], Experts, (p, _) => [0, 1], layers: 2);
        Assert.Contains("other tokens", Assert.Throws<ArgumentException>(() => RouterSaturation.Compare([a], [otherTokens])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ExpertLoad.Of(a).Share(2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExpertLoad.Of(a).Share(0, Experts));
    }

    [Fact]
    public void A_routing_with_an_expert_out_of_range_or_chosen_twice_is_refused()
    {
        Assert.Contains("not below num_experts", Assert.Throws<ArgumentException>(() => HandRouting.Build([1, 2], Experts, (_, _) => [0, 8])).Message);
        Assert.Contains("chosen twice", Assert.Throws<ArgumentException>(() => HandRouting.Build([1, 2], Experts, (p, _) => [p, p])).Message);
        Assert.Throws<ArgumentException>(() => new InputRouting("x", [1, 2], 1, 2, Experts, new ushort[3], new float[3]));
    }
}
