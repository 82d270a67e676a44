using System.Text.Json;
using System.Text.Json.Nodes;
using OlmoeSharp.Loading;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;
using OlmoeSharp.Tests.Model;
using OlmoeSharp.Tests.Tokenization;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Checkpoints;

/// <summary>
/// <see cref="SafeTensorsExport"/> (<c>olmoe convert</c>) on the golden GGUF files llama.cpp's quantizer made: the
/// checkpoint it writes holds, in f32, exactly the values ggml's dequantizer gives, computes the file's exact model
/// (llama.cpp's own dequantization run in float32, the golden <c>*.exact.f32</c> logits), and has allenai's layout
/// and tokenizer.
/// </summary>
public sealed unsafe class SafeTensorsExportTests
{
    public static TheoryData<string> Folders() => new("small-k-q8_0", "small-k-q4_0", "small-k-q4_k_m");

    private static string Gguf(string folder) => SharedData.Path("golden", "gguf", folder, "model.gguf");

    /// <summary>
    /// Every stored row within 1e-5 of the exact logits (measured ≤ 3.4e-6: float32 summation order); and within 1e-3
    /// of OlmoeSharp on the GGUF file itself, whose mat-vec rounds activations to int16 (measured ≤ 5.2e-4; 0 where
    /// every matrix sees two tokens or more and the float GEMM runs).
    /// </summary>
    [Theory]
    [MemberData(nameof(Folders))]
    public void The_checkpoint_computes_the_file_s_exact_model(string folder)
    {
        using var dir = new TempDirectory();
        SafeTensorsExport.Write(Gguf(folder), dir.Path);
        using var converted = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Mapped });
        using var original = OlmoeModel.Load(Gguf(folder));
        int vocab = converted.Config.VocabSize;
        foreach (var c in GgufGoldenCase.LoadAll(SharedData.Path("golden", "gguf", folder)))
        {
            var ours = new float[c.Tokens.Length * vocab];
            var theirs = new float[c.Tokens.Length * vocab];
            converted.CreateSession().Evaluate(c.Tokens, ours);
            original.CreateSession().Evaluate(c.Tokens, theirs);
            Assert.True(QuantizableModel.MaxAbsDifference(ours, theirs) <= 1e-3f, $"{folder}/{c.Name}: converted vs GGUF {QuantizableModel.MaxAbsDifference(ours, theirs)}");
            var exact = c.ReadExact(SharedData.Path("golden", "gguf", folder));
            for (int i = 0; i < c.Rows.Length; i++)
            {
                var row = ours.AsSpan(c.Rows[i].Position * vocab, vocab);
                var want = exact.AsSpan(i * vocab, vocab);
                float d = 0;
                for (int v = 0; v < vocab; v++) d = Math.Max(d, Math.Abs(row[v] - want[v]));
                Assert.True(d <= 1e-5f, $"{folder}/{c.Name} position {c.Rows[i].Position}: |converted − exact| {d}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void F32_tensors_are_the_dequantizer_s_values_bit_for_bit(string folder)
    {
        using var dir = new TempDirectory();
        SafeTensorsExport.Write(Gguf(folder), dir.Path);
        using var gguf = GgufCheckpoint.Open(Gguf(folder));
        using var checkpoint = CheckpointFiles.Open(dir.Path);
        var file = checkpoint.Files.Single();
        // 1 + 2 layers × (9 + 3 per expert × 8) + 2 = 69 tensors, as allenai names them.
        Assert.Equal(69, file.Tensors.Count);
        foreach (var (name, info) in file.Tensors)
        {
            Assert.Equal(TensorDType.F32, info.DType);
            var source = gguf.Matrix(name, [.. info.Shape]);
            var values = new ReadOnlySpan<float>(file.DataPointer(info), (int)info.ElementCount);
            var expected = new float[source.Cols];
            for (int r = 0; r < source.Rows; r++)
            {
                fixed (float* e = expected)
                {
                    if (source.Format is GgmlBlockFormat block)
                        for (int b = 0; b < source.Cols / block.BlockSize; b++) block.DequantizeBlock(source.Row(r) + b * block.BlockBytes, e + b * block.BlockSize);
                    else
                        source.Format.WidenRow(source, r, e);
                }
                for (int c = 0; c < source.Cols; c++)
                    if (BitConverter.SingleToInt32Bits(expected[c]) != BitConverter.SingleToInt32Bits(values[r * source.Cols + c]))
                        Assert.Fail($"{folder} {name} [{r}, {c}]: {values[r * source.Cols + c]}, dequantized {expected[c]}");
            }
        }
    }

    [Fact]
    public void Bf16_tensors_are_the_f32_values_rounded_to_nearest_even()
    {
        using var f32 = new TempDirectory();
        using var bf16 = new TempDirectory();
        SafeTensorsExport.Write(Gguf("small-k-q4_k_m"), f32.Path);
        SafeTensorsExport.Write(Gguf("small-k-q4_k_m"), bf16.Path, new SafeTensorsExportOptions { DType = TensorDType.BF16 });
        Assert.Equal("bfloat16", JsonNode.Parse(File.ReadAllText(Path.Combine(bf16.Path, "config.json")))!["torch_dtype"]!.GetValue<string>());
        Assert.Equal("float32", JsonNode.Parse(File.ReadAllText(Path.Combine(f32.Path, "config.json")))!["torch_dtype"]!.GetValue<string>());
        using var wide = CheckpointFiles.Open(f32.Path);
        using var narrow = CheckpointFiles.Open(bf16.Path);
        var a = wide.Files.Single();
        var b = narrow.Files.Single();
        foreach (var (name, info) in a.Tensors)
        {
            var rounded = b.Tensors[name];
            Assert.Equal(TensorDType.BF16, rounded.DType);
            Assert.Equal(info.Shape, rounded.Shape);
            var values = new ReadOnlySpan<float>(a.DataPointer(info), (int)info.ElementCount);
            var halves = new ReadOnlySpan<ushort>(b.DataPointer(rounded), (int)info.ElementCount);
            for (int i = 0; i < values.Length; i++)
                if (halves[i] != BFloat16Kernels.FromSingle(values[i])) Assert.Fail($"{name}[{i}]: {halves[i]:X4} for {values[i]}");
        }
    }

    [Fact]
    public void The_checkpoint_has_the_file_s_config_and_allenai_s_tokenizer()
    {
        using var dir = new TempDirectory();
        SafeTensorsExport.Write(Gguf("small-k-q8_0"), dir.Path);
        using var gguf = GgufCheckpoint.Open(Gguf("small-k-q8_0"));
        var config = OlmoeConfig.Load(Path.Combine(dir.Path, "config.json"));
        Assert.Equal(gguf.Config.ToJson(), config.ToJson());
        Assert.False(config.TieWordEmbeddings);
        // The GGUF tokenizer without llama.cpp's 24 padding tokens is, as JSON, the tokenizer.json it was made from.
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, OlmoeTokenizer.FileName)));
        var original = JsonNode.Parse(File.ReadAllText(TokenizerFixture.FilePath));
        Assert.True(JsonNode.DeepEquals(original, written), "tokenizer.json differs from allenai's");
        var tokenizer = OlmoeTokenizer.FromDirectory(dir.Path);
        var fromGguf = OlmoeTokenizer.FromGguf(Gguf("small-k-q8_0"));
        foreach (string line in File.ReadLines(SharedData.Path("tokenizers", "public-cases.jsonl")))
        {
            string text = JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!;
            Assert.Equal(fromGguf.Encode(text), tokenizer.Encode(text));
        }
        var tokenizerConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "tokenizer_config.json")))!;
        Assert.Equal("<|endoftext|>", tokenizerConfig["eos_token"]!.GetValue<string>());
        Assert.Equal("<|padding|>", tokenizerConfig["pad_token"]!.GetValue<string>());
    }

    [Fact]
    public void Past_the_shard_limit_the_checkpoint_is_sharded_and_loads_the_same()
    {
        using var single = new TempDirectory();
        using var sharded = new TempDirectory();
        SafeTensorsExport.Write(Gguf("small-k-q4_0"), single.Path);
        SafeTensorsExport.Write(Gguf("small-k-q4_0"), sharded.Path, new SafeTensorsExportOptions { MaxShardBytes = 40_000_000 });
        var shards = Directory.GetFiles(sharded.Path, "model-*.safetensors");
        Assert.True(shards.Length >= 3, $"{shards.Length} shards");
        Assert.True(shards.All(s => new FileInfo(s).Length <= 52_000_000), "a shard holds more than the limit plus one tensor");
        Assert.True(File.Exists(Path.Combine(sharded.Path, SafeTensorsIndex.FileName)));
        Assert.False(File.Exists(Path.Combine(sharded.Path, CheckpointFiles.SingleFileName)));
        Assert.Equal(PromptLogits(single.Path), PromptLogits(sharded.Path));
    }

    [Fact]
    public void A_folder_is_not_converted_onto_itself()
    {
        using var dir = new TempDirectory();
        SafeTensorsExport.Write(Gguf("small-k-q8_0"), dir.Path);
        Assert.Throws<ArgumentException>(() => SafeTensorsExport.Write(dir.Path, dir.Path));
        Assert.Throws<ArgumentOutOfRangeException>(() => SafeTensorsExport.Write(Gguf("small-k-q8_0"), dir.Path, new SafeTensorsExportOptions { DType = TensorDType.F16 }));
    }

    private static float[] PromptLogits(string path)
    {
        using var m = OlmoeModel.Load(path, new ModelLoadOptions { Residency = WeightResidency.Mapped });
        var logits = new float[5 * m.Config.VocabSize];
        m.CreateSession().Evaluate([50, 1000, 7, 20000, 3], logits);
        return logits;
    }
}
