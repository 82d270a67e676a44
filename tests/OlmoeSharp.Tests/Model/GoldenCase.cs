using System.Text.Json;

namespace OlmoeSharp.Tests.Model;

/// <summary>One case of shared/golden/*/expected.json: input tokens, reference logits, greedy continuation.</summary>
public sealed record GoldenCase(string Name, int[] Tokens, string LogitsFile, int[] Argmax, int[] Greedy)
{
    public override string ToString() => Name;

    public static IReadOnlyList<GoldenCase> LoadAll(string goldenDir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(goldenDir, "expected.json")));
        var cases = new List<GoldenCase>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            cases.Add(new GoldenCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("logits_file").GetString()!,
                c.GetProperty("argmax").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("greedy").GetProperty("generated").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        }
        return cases;
    }

    public float[] ReadLogits(string goldenDir)
    {
        var bytes = File.ReadAllBytes(Path.Combine(goldenDir, LogitsFile));
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }
}
