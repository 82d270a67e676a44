using System.Numerics.Tensors;
using System.Text.Json;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// The engine on shared/golden/gguf: GGUF files quantized by llama.cpp, against the file's exact model (its weights
/// dequantized by llama.cpp, run in float32). The rule of that README, per stored row, d = max |ours − exact|:
/// d ≤ 1.25·llama_vs_exact + 0.002·max_abs_exact, and the exact argmax wherever the top-2 gap exceeds
/// 2·llama_vs_exact + 0.004·max_abs_exact. Checked for the whole prompt in one batch (the GEMM path) and token by
/// token through the KV cache (the mat-vec path), with the file mapped as stored and packed (its Q4_K, Q6_K and
/// Q4_0 matrices re-laid sixteen rows at a time).
/// </summary>
public sealed class GgufGoldenLogitsTests
{
    public static TheoryData<string, string, bool, WeightResidency> Cases()
    {
        var data = new TheoryData<string, string, bool, WeightResidency>();
        foreach (string folder in Folders())
            foreach (var c in GgufGoldenCase.LoadAll(folder))
                foreach (bool oneByOne in new[] { false, true })
                    foreach (var residency in new[] { WeightResidency.Mapped, WeightResidency.Packed })
                        data.Add(Path.GetFileName(folder), c.Name, oneByOne, residency);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_stored_row_is_within_the_rule(string set, string caseName, bool tokenByToken, WeightResidency residency)
    {
        string folder = SharedData.Path("golden", "gguf", set);
        var c = GgufGoldenCase.LoadAll(folder).Single(x => x.Name == caseName);
        // Packed as requested whatever the probe measures, so the interleaved kernels are what is checked.
        using var model = OlmoeModel.Load(Path.Combine(folder, "model.gguf"), new ModelLoadOptions { Residency = residency, MeasurePackedSpeed = false });
        if (residency == WeightResidency.Packed && model.Residency == WeightResidency.Packed)
            Assert.Contains(model.Weights.ProjectionMatrices(), m => m.Format is InterleavedFormat);
        else if (residency == WeightResidency.Packed)
            Assert.True(!InterleavedKernels.HasVectorKernel || model.ResidencyChoice.Contains("no matrix can be packed"), model.ResidencyChoice);
        int vocab = model.Config.VocabSize;
        Assert.Equal(c.VocabSize, vocab);
        var session = model.CreateSession();
        var logits = new float[c.Tokens.Length * vocab];
        if (tokenByToken)
            for (int t = 0; t < c.Tokens.Length; t++) session.Evaluate(c.Tokens.AsSpan(t, 1), logits.AsSpan(t * vocab, vocab));
        else
            session.Evaluate(c.Tokens, logits);

        var exact = c.ReadExact(folder);
        for (int i = 0; i < c.Rows.Length; i++)
        {
            var row = c.Rows[i];
            var ours = logits.AsSpan(row.Position * vocab, vocab);
            var want = exact.AsSpan(i * vocab, vocab);
            float d = 0;
            for (int v = 0; v < vocab; v++) d = Math.Max(d, Math.Abs(ours[v] - want[v]));
            double allowed = 1.25 * row.LlamaVsExact + 0.002 * row.MaxAbsExact;
            Assert.True(d <= allowed, $"{set}/{caseName} position {row.Position}: |ours − exact| {d} > allowed {allowed}");
            if (row.ExactTop2Gap > 2 * row.LlamaVsExact + 0.004 * row.MaxAbsExact)
                Assert.Equal(row.ExactArgmax, TensorPrimitives.IndexOfMax(ours));
        }
    }

    private static IEnumerable<string> Folders() =>
        Directory.GetDirectories(SharedData.Path("golden", "gguf")).Where(d => File.Exists(Path.Combine(d, "expected.json"))).Order();
}

/// <summary>One case of shared/golden/gguf/*/expected.json (format olmoe-gguf-expected/1).</summary>
internal sealed record GgufGoldenCase(string Name, int[] Tokens, int VocabSize, string ExactFile, GgufGoldenRow[] Rows)
{
    public static IReadOnlyList<GgufGoldenCase> LoadAll(string folder)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "expected.json")));
        var root = doc.RootElement;
        Assert.Equal("olmoe-gguf-expected/1", root.GetProperty("format").GetString());
        int vocab = root.GetProperty("vocab_size").GetInt32();
        return root.GetProperty("cases").EnumerateArray().Select(c => new GgufGoldenCase(
            c.GetProperty("name").GetString()!,
            c.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            vocab,
            c.GetProperty("exact_logits_file").GetString()!,
            c.GetProperty("rows").EnumerateArray().Select(r => new GgufGoldenRow(
                r.GetProperty("position").GetInt32(),
                r.GetProperty("max_abs_exact").GetDouble(),
                r.GetProperty("llama_vs_exact").GetDouble(),
                r.GetProperty("exact_argmax").GetInt32(),
                r.GetProperty("exact_top2_gap").GetDouble())).ToArray())).ToList();
    }

    /// <summary>The exact model's logits, one row per stored position.</summary>
    public float[] ReadExact(string folder)
    {
        var bytes = File.ReadAllBytes(Path.Combine(folder, ExactFile));
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        Assert.Equal(Rows.Length * VocabSize, values.Length);
        return values;
    }
}

internal sealed record GgufGoldenRow(int Position, double MaxAbsExact, double LlamaVsExact, int ExactArgmax, double ExactTop2Gap);
