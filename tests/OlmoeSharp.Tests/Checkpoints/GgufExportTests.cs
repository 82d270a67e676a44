using System.Text.Json;
using OlmoeSharp.Loading;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tokenization;
using OlmoeSharp.Tests.Tokenization;

namespace OlmoeSharp.Tests.Checkpoints;

/// <summary>A bf16 <see cref="QuantizableModel"/> checkpoint and its float logits, shared by the export tests.</summary>
public sealed class QuantizableModelFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public QuantizableModelFixture()
    {
        QuantizableModel.Write(_directory.Path);
        FloatLogits = QuantizableModel.Logits(_directory.Path);
    }

    public string Directory => _directory.Path;

    /// <summary>The checkpoint's logits, mapped bf16.</summary>
    public float[] FloatLogits { get; }

    public void Dispose() => _directory.Dispose();
}

/// <summary>
/// <see cref="GgufExport"/> (<c>olmoe quantize</c>): the files it writes open, carry llama.cpp's type mix and metadata,
/// load, and compute what the model computes within the error of their types. That the quantized blocks are
/// llama.cpp's own, bit for bit, was checked against llama.cpp's quantizer (LLamaSharp 0.30.0) on 256- and 64-wide
/// random models for every type here (benchmarks' <c>check-quantize</c>).
/// </summary>
public sealed class GgufExportTests(QuantizableModelFixture model) : IClassFixture<QuantizableModelFixture>
{
    /// <summary>
    /// Tolerance: relative RMS of the logits' error ≤ 6·ε, where ε is the base type's relative RMS error per weight
    /// (<see cref="Tensors.GgmlQuantizerTests"/>: 0.0055 Q8_0, 0.0183 Q6_K, 0.0372 Q5_K, 0.0734 Q4_K, 0.0884 Q4_0).
    /// Each token's logits go through 16 quantized matrices (embedding, 7 per layer, LM head); independent errors of
    /// ε each add up to √16·ε = 4ε, and 1.5× allows for the router picking another expert where two are close.
    /// Measured on this model: 2.0–3.3·ε (up to 5.1·ε on other seeds and widths). The lower bound (0.5·ε) shows the
    /// weights really are quantized.
    /// </summary>
    [Theory]
    [InlineData(GgufFileType.Q8_0, 0.0055)]
    [InlineData(GgufFileType.Q6_K, 0.0183)]
    [InlineData(GgufFileType.Q5_K_M, 0.0372)]
    [InlineData(GgufFileType.Q4_K_M, 0.0734)]
    [InlineData(GgufFileType.Q4_0, 0.0884)]
    public void Each_type_writes_llama_cpp_s_mix_and_computes_close_to_the_float_model(GgufFileType fileType, double epsilon)
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.gguf");
        GgufExport.Write(model.Directory, path, new GgufExportOptions { FileType = fileType, Threads = 2 });

        var config = QuantizableModel.Config;
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal((uint)fileType, file.GetUInt32("general.file_type"));
            Assert.Equal(2u, file.GetUInt32("general.quantization_version"));
            Assert.Equal("olmoe", file.GetString("general.architecture"));
            Assert.Equal(3 + 12 * config.NumHiddenLayers, file.Tensors.Count);
            foreach (var kind in Enum.GetValues<TensorKind>())
                for (int layer = IsGlobal(kind) ? -1 : 0; layer < (IsGlobal(kind) ? 0 : config.NumHiddenLayers); layer++)
                {
                    var tensor = file.GetTensor(GgufTensorNames.Of(kind, layer));
                    Assert.Equal(GgufQuantizationMix.TypeOf(fileType, kind, layer, (int)tensor.Dimensions[0], config), tensor.Type);
                }
            // The Q4_K_M/Q5_K_M rule: layer 1 of 2 gets Q6_K for attn_v and ffn_down_exps, layer 0 the base type.
            if (fileType is GgufFileType.Q4_K_M or GgufFileType.Q5_K_M)
            {
                Assert.Equal(GgmlType.Q6_K, file.GetTensor("blk.1.ffn_down_exps.weight").Type);
                Assert.Equal(GgufQuantizationMix.BaseType(fileType), file.GetTensor("blk.0.ffn_down_exps.weight").Type);
            }
        }

        using var quantized = OlmoeModel.Load(path);
        Assert.Equal(config.ToJson(), quantized.Config.ToJson());
        double error = QuantizableModel.RelativeRms(QuantizableModel.Logits(quantized), model.FloatLogits);
        Assert.InRange(error, 0.5 * epsilon, 6 * epsilon);
    }

    [Fact]
    public void Kept_in_its_stored_type_the_file_holds_the_checkpoint_s_bytes_and_computes_the_same()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.gguf");
        GgufExport.Write(model.Directory, path);
        using (var file = GgufFile.Open(path))
        using (var checkpoint = CheckpointFiles.Open(model.Directory))
        {
            Assert.Equal((uint)GgufFileType.BF16, file.GetUInt32("general.file_type"));
            Assert.False(file.TryGetValue("general.quantization_version", out _));
            var st = checkpoint.Files.Single();
            Assert.Equal(st.GetBytes(st.Tensors[TensorNames.QProj(1)]).ToArray(), file.GetBytes(file.GetTensor("blk.1.attn_q.weight")).ToArray());
            var stacked = file.GetBytes(file.GetTensor("blk.0.ffn_down_exps.weight"));
            var experts = Enumerable.Range(0, 4).SelectMany(e => st.GetBytes(st.Tensors[TensorNames.ExpertDown(0, e)]).ToArray()).ToArray();
            Assert.Equal(experts, stacked.ToArray());
            Assert.Equal(GgmlType.F32, file.GetTensor("blk.0.ffn_gate_inp.weight").Type);
        }
        // The bound for a bf16 GGUF against its checkpoint; only the router's kernel (f32 here, bf16 there) differs.
        Assert.True(QuantizableModel.MaxAbsDifference(QuantizableModel.Logits(path), model.FloatLogits) <= 1e-4f);
    }

    [Fact]
    public void A_gguf_source_is_quantized_as_the_folder_it_came_from()
    {
        using var dir = new TempDirectory();
        GgufExport.Write(model.Directory, dir.File("bf16.gguf"));
        GgufExport.Write(dir.File("bf16.gguf"), dir.File("from-gguf.gguf"), new GgufExportOptions { FileType = GgufFileType.Q4_K_M });
        GgufExport.Write(model.Directory, dir.File("from-folder.gguf"), new GgufExportOptions { FileType = GgufFileType.Q4_K_M });
        using var a = GgufFile.Open(dir.File("from-gguf.gguf"));
        using var b = GgufFile.Open(dir.File("from-folder.gguf"));
        Assert.Equal(b.Tensors.Select(t => (t.Name, t.Type)), a.Tensors.Select(t => (t.Name, t.Type)));
        foreach (var tensor in a.Tensors) Assert.True(a.GetBytes(tensor).SequenceEqual(b.GetBytes(b.GetTensor(tensor.Name))), tensor.Name);
        // The tokenizer keys are copied from the source file as they are.
        foreach (string key in b.MetadataKeys.Where(k => k.StartsWith("tokenizer.")))
            Assert.Equal(JsonSerializer.Serialize(b.Metadata[key].Value), JsonSerializer.Serialize(a.Metadata[key].Value));
    }

    /// <summary>
    /// The tokenizer keys written from tokenizer.json are those llama.cpp's converter wrote into the golden files
    /// from the same tokenizer (tokens padded to 50,304 with "[PAD…]", token types, merges, special ids), the chat
    /// template comes from tokenizer_config.json, and the tokenizer they make encodes every public case as
    /// tokenizer.json does.
    /// </summary>
    [Fact]
    public void The_tokenizer_is_written_as_llama_cpp_s_converter_writes_it()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, RandomCheckpoint.Tiny, new RandomCheckpointOptions { Seed = 3 });
        File.Copy(TokenizerFixture.FilePath, dir.File(OlmoeTokenizer.FileName));
        File.WriteAllText(dir.File("tokenizer_config.json"), """{ "eos_token": "<|endoftext|>", "chat_template": "{{ messages }}" }""");
        string path = dir.File("model.gguf");
        GgufExport.Write(dir.Path, path, new GgufExportOptions { FileType = GgufFileType.Q8_0 });
        using (var file = GgufFile.Open(path))
        using (var golden = GgufFile.Open(SharedData.Path("golden", "gguf", "small-k-q8_0", "model.gguf")))
        {
            foreach (string key in new[] { "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                         "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token" })
            {
                Assert.Equal(golden.Metadata[key].TypeName, file.Metadata[key].TypeName);
                Assert.Equal(JsonSerializer.Serialize(golden.Metadata[key].Value), JsonSerializer.Serialize(file.Metadata[key].Value));
            }
            Assert.Equal("{{ messages }}", file.GetString("tokenizer.chat_template"));
        }
        var fromGguf = OlmoeTokenizer.FromGguf(path);
        int cases = 0;
        foreach (string line in File.ReadLines(SharedData.Path("tokenizers", "public-cases.jsonl")))
        {
            string text = JsonDocument.Parse(line).RootElement.GetProperty("text").GetString()!;
            Assert.Equal(TokenizerFixture.Tokenizer.Encode(text), fromGguf.Encode(text));
            cases++;
        }
        Assert.True(cases > 10);
    }

    [Fact]
    public void What_llama_cpp_cannot_compute_or_load_is_refused_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        QuantizableModel.Write(dir.Path, QuantizableModel.Config with { NormTopKProb = true });
        Assert.Throws<NotSupportedException>(() => GgufExport.Write(dir.Path, dir.File("a.gguf")));
        File.Delete(Path.Combine(dir.Path, OlmoeTokenizer.FileName));
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), QuantizableModel.Config.ToJson());
        var missing = Assert.Throws<FileNotFoundException>(() => GgufExport.Write(dir.Path, dir.File("a.gguf")));
        Assert.Contains("tokenizer", missing.Message);
        GgufExport.Write(model.Directory, dir.File("b.gguf"));
        Assert.Throws<ArgumentException>(() => GgufExport.Write(dir.File("b.gguf"), dir.File("b.gguf"), new GgufExportOptions { FileType = GgufFileType.Q8_0 }));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => GgufExport.Write(model.Directory, dir.File("c.gguf"), new GgufExportOptions { FileType = GgufFileType.Q4_0 }, cancelled.Token));
        Assert.Equal(["b.gguf", "config.json", "generation_config.json", "model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }

    private static bool IsGlobal(TensorKind kind) => kind is TensorKind.TokenEmbedding or TensorKind.Output or TensorKind.OutputNorm;
}
