using OlmoeSharp.Tensors;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// The engine against shared/golden: logits from an independent float32 reference of the Hugging Face semantics.
/// Tolerance (from the golden README): every row within 1e-3 max abs, identical argmax on every row, identical
/// 16-token greedy continuation through the KV cache.
/// </summary>
public sealed class GoldenLogitsTests
{
    private const float Tolerance = 1e-3f;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var dir in GoldenModels())
            foreach (var c in GoldenCase.LoadAll(GoldenRoot(dir)))
                data.Add(dir, c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_row_matches_the_reference_logits(string golden, string caseName)
    {
        string root = GoldenRoot(golden);
        var c = GoldenCase.LoadAll(root).Single(x => x.Name == caseName);
        var expected = c.ReadLogits(root);
        using var model = OlmoeModel.Load(GoldenModelDir(golden));
        int vocab = model.Config.VocabSize;
        Assert.Equal(c.Tokens.Length * vocab, expected.Length);

        var logits = new float[c.Tokens.Length * vocab];
        model.CreateSession().Evaluate(c.Tokens, logits);

        for (int row = 0; row < c.Tokens.Length; row++)
        {
            var actualRow = logits.AsSpan(row * vocab, vocab);
            var expectedRow = expected.AsSpan(row * vocab, vocab);
            float maxAbs = 0;
            for (int i = 0; i < vocab; i++) maxAbs = Math.Max(maxAbs, Math.Abs(actualRow[i] - expectedRow[i]));
            Assert.True(maxAbs <= Tolerance, $"{golden}/{caseName} row {row}: max abs diff {maxAbs} > {Tolerance}");
            Assert.Equal(c.Argmax[row], System.Numerics.Tensors.TensorPrimitives.IndexOfMax(actualRow));
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_continuation_through_the_kv_cache_matches(string golden, string caseName)
    {
        var c = GoldenCase.LoadAll(GoldenRoot(golden)).Single(x => x.Name == caseName);
        using var model = OlmoeModel.Load(GoldenModelDir(golden));
        var session = model.CreateSession();
        var logits = new float[model.Config.VocabSize];
        session.Evaluate(c.Tokens, logits);
        var generated = new List<int>();
        for (int i = 0; i < c.Greedy.Length; i++)
        {
            int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
            generated.Add(next);
            session.Evaluate([next], logits);
        }
        Assert.Equal(c.Greedy, generated);
    }

    internal static IEnumerable<string> GoldenModels()
    {
        // Every folder of every golden set that holds a config.json, e.g. tiny/bf16 and tiny/f32-2shards.
        foreach (var set in Directory.GetDirectories(SharedData.Path("golden")).OrderBy(d => d, StringComparer.Ordinal))
            foreach (var model in Directory.GetDirectories(set).OrderBy(d => d, StringComparer.Ordinal))
                if (File.Exists(Path.Combine(model, "config.json")))
                    yield return Path.GetRelativePath(SharedData.Path("golden"), model);
    }

    internal static string GoldenModelDir(string golden) => SharedData.Path("golden", golden);

    internal static string GoldenRoot(string golden) => Path.GetDirectoryName(GoldenModelDir(golden))!;
}
