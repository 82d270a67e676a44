using System.Buffers.Binary;
using System.Reflection;
using System.Text.Json;
using OlmoeSharp.Analysis;
using OlmoeSharp.Scoring;

namespace OlmoeSharp.Tests.Analysis;

/// <summary>
/// <c>olmoe experts</c> end to end on tiny random models (the CLI's own entry point, in process): every CSV, JSON and
/// PNG file and report.html are written, the PNGs are real pictures of some size, the tables have a row per layer and
/// expert, and the raw routing file is the library's routing of the same text; a --compare model of another shape is
/// refused with a non-zero exit code.
/// </summary>
public sealed class ExpertsCommandTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static string TinyModel(TempDirectory dir, string name, ulong seed, OlmoeConfig? config = null)
    {
        string path = dir.File(name);
        RandomCheckpoint.Write(path, config ?? RandomCheckpoint.Tiny, new RandomCheckpointOptions { Seed = seed });
        File.Copy(SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json"), Path.Combine(path, "tokenizer.json"));
        return path;
    }

    private static async Task<int> RunCli(params string[] args)
    {
        var entry = Assembly.Load("olmoe").EntryPoint!;
        object? result = entry.Invoke(null, [args]);
        return result is Task<int> task ? await task : (int)result!;
    }

    [Fact]
    public async Task Experts_writes_every_table_picture_and_the_report()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir, "final", 3), earlier = TinyModel(dir, "earlier", 4);
        string prose = dir.File("prose.txt"), code = dir.File("code.txt");
        await File.WriteAllTextAsync(prose, string.Concat(Enumerable.Repeat("The experts of a mixture route each token to a few of many. ", 12)));
        await File.WriteAllTextAsync(code, string.Concat(Enumerable.Repeat("for (int i = 0; i < n; i++) sum += x[i] * y[i];\n", 12)));
        string output = dir.File("out"), jsonl = dir.File("routing.jsonl");

        int exit = await RunCli("experts", "--model", model, "--input", prose, code, "--compare", earlier, "--out", output, "--routing-out", jsonl, "--context", "64");
        Assert.Equal(0, exit);

        var config = RandomCheckpoint.Tiny;
        int layers = config.NumHiddenLayers, experts = config.NumExperts;
        foreach (string png in new[] { "load.png", "domains.png", "coactivation.png", "vocabulary.png", "saturation.png" })
        {
            byte[] bytes = await File.ReadAllBytesAsync(Path.Combine(output, png));
            Assert.True(bytes.AsSpan(0, 8).SequenceEqual(PngSignature), $"{png} is not a PNG");
            Assert.True(bytes.AsSpan(12, 4).SequenceEqual("IHDR"u8), $"{png} has no IHDR");
            int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
            Assert.True(width >= 400 && height >= 200, $"{png} is {width} × {height}");
            Assert.True(bytes.Length > 8_000, $"{png} is only {bytes.Length} bytes");
        }

        // Every table has its header and a row per input, layer and expert (load) or per layer (vocabulary, saturation).
        string[] load = await File.ReadAllLinesAsync(Path.Combine(output, "expert_load.csv"));
        Assert.Equal("input,layer,expert,assignments,share,first_choices,first_choice_share", load[0]);
        Assert.Equal(1 + 3 * layers * experts, load.Length); // two inputs and "all"
        Assert.Equal(1 + layers, (await File.ReadAllLinesAsync(Path.Combine(output, "vocabulary.csv"))).Length);
        Assert.Equal(1 + layers, (await File.ReadAllLinesAsync(Path.Combine(output, "saturation.csv"))).Length);
        Assert.True((await File.ReadAllLinesAsync(Path.Combine(output, "coactivation.csv"))).Length > 1);
        Assert.True((await File.ReadAllLinesAsync(Path.Combine(output, "expert_tokens.csv"))).Length > 1);

        string report = await File.ReadAllTextAsync(Path.Combine(output, "report.html"));
        foreach (string file in new[] { "load.png", "domains.png", "coactivation.png", "vocabulary.png", "saturation.png", "expert_load.csv", "summary.json" })
            Assert.Contains($"\"{file}\"", report);

        // The summary and the raw routing are the library's view of the same tokens.
        using var loaded = OlmoeModel.Load(model);
        var scorer = new Scorer(loaded);
        int[] proseTokens = scorer.Encode(await File.ReadAllTextAsync(prose)), codeTokens = scorer.Encode(await File.ReadAllTextAsync(code));
        using (var summary = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(output, "summary.json"))))
        {
            var inputs = summary.RootElement.GetProperty("inputs").EnumerateArray().ToArray();
            Assert.Equal(["prose.txt", "code.txt"], inputs.Select(i => i.GetProperty("name").GetString()));
            Assert.Equal([proseTokens.Length, codeTokens.Length], inputs.Select(i => i.GetProperty("tokens").GetInt32()));
            Assert.Equal(layers, summary.RootElement.GetProperty("per_layer").GetArrayLength());
        }
        IReadOnlyList<InputRouting> recorded;
        using (var stream = File.OpenRead(jsonl)) recorded = RoutingJsonl.Read(stream, jsonl, experts);
        var expected = new[] { RoutingRecorder.Route(loaded, "prose", proseTokens, 64), RoutingRecorder.Route(loaded, "code", codeTokens, 64) };
        Assert.Equal(2, recorded.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(expected[i].Tokens.ToArray(), recorded[i].Tokens.ToArray());
            for (int p = 0; p < expected[i].Length; p++)
                for (int l = 0; l < layers; l++)
                    Assert.Equal(expected[i].Experts(p, l).ToArray(), recorded[i].Experts(p, l).ToArray());
        }
    }

    [Fact]
    public async Task A_compare_model_of_another_shape_is_refused()
    {
        using var dir = new TempDirectory();
        string model = TinyModel(dir, "final", 3);
        string other = TinyModel(dir, "other", 4, RandomCheckpoint.Tiny with { NumExperts = 4 });
        string text = dir.File("text.txt");
        await File.WriteAllTextAsync(text, "A short text to route.");
        string output = dir.File("out");

        int exit = await RunCli("experts", "--model", model, "--input", text, "--compare", other, "--out", output);
        Assert.NotEqual(0, exit);
        Assert.False(File.Exists(Path.Combine(output, "report.html")));
    }
}
