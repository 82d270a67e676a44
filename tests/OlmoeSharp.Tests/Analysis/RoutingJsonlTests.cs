using System.Text;
using System.Text.Json;
using OlmoeSharp.Analysis;

namespace OlmoeSharp.Tests.Analysis;

/// <summary>
/// The raw routing as JSON lines: one object per input, position and layer with the fields the format names, and
/// reading it back gives the same tokens, experts and (bit for bit) weights; malformed or reordered lines are refused
/// with the line named.
/// </summary>
public sealed class RoutingJsonlTests
{
    private static byte[] Write(params InputRouting[] routings)
    {
        using var stream = new MemoryStream();
        RoutingJsonl.Write(stream, routings);
        return stream.ToArray();
    }

    private static IReadOnlyList<InputRouting> Read(string text, int numExperts = 16) =>
        RoutingJsonl.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), "routing.jsonl", numExperts);

    [Fact]
    public void Written_routing_reads_back_exactly()
    {
        // Weights of every magnitude, so shortest-round-trip printing is exercised.
        var random = new Random(5);
        var a = HandRouting.Random(3, 40, 3, 4, 16, 100, "a");
        var b = HandRouting.Random(4, 7, 3, 4, 16, 100, "b");
        var weights = Enumerable.Range(0, a.Length * 3 * 4).Select(_ => (float)Math.Pow(10, random.NextDouble() * 8 - 6)).ToArray();
        var experts = Enumerable.Range(0, a.Length).SelectMany(p => Enumerable.Range(0, 3).SelectMany(l => a.Experts(p, l).ToArray())).ToArray();
        a = new InputRouting("a", [.. a.Tokens], 3, 4, 16, experts, weights);

        var back = RoutingJsonl.Read(new MemoryStream(Write(a, b)), "routing.jsonl", 16);
        Assert.Equal(2, back.Count);
        foreach (var (written, read) in new[] { a, b }.Zip(back))
        {
            Assert.True(read.HasShapeOf(written));
            Assert.Equal(written.Tokens.ToArray(), read.Tokens.ToArray());
            for (int p = 0; p < written.Length; p++)
                for (int l = 0; l < 3; l++)
                {
                    Assert.Equal(written.Experts(p, l).ToArray(), read.Experts(p, l).ToArray());
                    Assert.Equal(written.Weights(p, l).ToArray().Select(BitConverter.SingleToInt32Bits), read.Weights(p, l).ToArray().Select(BitConverter.SingleToInt32Bits));
                }
        }
    }

    [Fact]
    public void Each_line_is_one_input_position_and_layer_in_order()
    {
        var routing = HandRouting.Build([11, 22], 8, (p, l) => [p + l, 7 - p], layers: 2);
        string[] lines = Encoding.UTF8.GetString(Write(routing)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        var seen = lines.Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            Assert.Equal(["input", "position", "token", "layer", "experts", "weights"], r.EnumerateObject().Select(x => x.Name));
            return (Input: r.GetProperty("input").GetInt32(), Position: r.GetProperty("position").GetInt32(), Token: r.GetProperty("token").GetInt32(),
                Layer: r.GetProperty("layer").GetInt32(), Experts: r.GetProperty("experts").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                Weights: r.GetProperty("weights").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }).ToList();
        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1)], seen.Select(x => (x.Position, x.Layer)));
        Assert.All(seen, x => Assert.Equal(0, x.Input));
        Assert.Equal([11, 11, 22, 22], seen.Select(x => x.Token));
        Assert.Equal([1, 7], seen[1].Experts);               // position 0, layer 1: [0 + 1, 7 − 0], the router's order kept
        Assert.Equal(routing.Weights(1, 1).ToArray(), seen[3].Weights);
    }

    [Theory]
    [InlineData("""{"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5]}""", "line 1: 1 weights for 2 experts")]
    [InlineData("""{"input":0,"position":0,"token":1,"layer":0,"experts":[1,16],"weights":[0.5,0.1]}""", "line 1: expert 16 is not an id below num_experts = 16")]
    [InlineData("""{"input":0,"position":0,"token":1,"layer":0,"experts":[3,3],"weights":[0.5,0.1]}""", "line 1: expert 3 is listed twice")]
    [InlineData("""{"input":0,"position":0,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}""", "line 1: \"token\" must be a non-negative integer")]
    [InlineData("""{"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,"x"]}""", "line 1: weight \"x\" is not a finite number")]
    [InlineData("[1, 2]", "line 1: not a JSON object")]
    [InlineData("{\"input\":", "line 1: not valid JSON")]
    [InlineData("""{"input":1,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}""", "line 1: input 1, position 0, layer 0 does not follow")]
    [InlineData("""
        {"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":0,"token":1,"layer":1,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":1,"token":4,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":1,"token":4,"layer":2,"experts":[1,2],"weights":[0.5,0.1]}
        """, "line 4: input 0, position 1, layer 2 does not follow input 0, position 1, layer 0 (2 layers per position)")]
    [InlineData("""
        {"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":0,"token":2,"layer":1,"experts":[1,2],"weights":[0.5,0.1]}
        """, "line 2: token 2 at position 0, where layer 0 has 1")]
    [InlineData("""
        {"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":0,"token":1,"layer":1,"experts":[1,2,3],"weights":[0.5,0.1,0.1]}
        """, "line 2: 3 experts where the first line has 2")]
    [InlineData("""
        {"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":0,"token":1,"layer":1,"experts":[1,2],"weights":[0.5,0.1]}
        {"input":0,"position":1,"token":4,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}
        """, "ends at layer 0 of position 1 of input 0; every position has 2 layers")]
    public void Malformed_lines_are_refused_naming_the_line(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => Read(text));
        Assert.Contains("routing.jsonl", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void An_empty_file_holds_no_inputs_and_blank_lines_are_skipped()
    {
        Assert.Empty(Read(""));
        var routing = Read("""
            {"input":0,"position":0,"token":1,"layer":0,"experts":[1,2],"weights":[0.5,0.1]}

            {"input":0,"position":1,"token":3,"layer":0,"experts":[2,1],"weights":[0.5,0.1]}
            """).Single();
        Assert.Equal(1, routing.Layers);
        Assert.Equal([1, 3], routing.Tokens.ToArray());
        Assert.Equal([(ushort)2, (ushort)1], routing.Experts(1, 0).ToArray());
    }
}
