using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Tests.Checkpoints;

/// <summary>
/// The tensor types <see cref="GgufQuantizationMix"/> picks against what llama.cpp's quantizer picked: every tensor
/// of the golden files (made by llama_model_quantize), and the sizes of the full-size model's files allenai
/// publishes, which follow from the types alone.
/// </summary>
public sealed class GgufQuantizationMixTests
{
    [Theory]
    [InlineData("small-k-q8_0", GgufFileType.Q8_0)]
    [InlineData("small-k-q4_0", GgufFileType.Q4_0)]
    [InlineData("small-k-q4_k_m", GgufFileType.Q4_K_M)]
    public void Every_tensor_of_the_golden_files_gets_the_type_llama_cpp_gave_it(string folder, GgufFileType fileType)
    {
        using var file = GgufCheckpoint.Open(SharedData.Path("golden", "gguf", folder, "model.gguf"));
        Assert.Equal((uint)fileType, file.File.GetUInt32("general.file_type"));
        var byName = Names(file.Config).ToDictionary(n => n.Name);
        foreach (var tensor in file.File.Tensors)
        {
            var (_, kind, layer) = byName[tensor.Name];
            Assert.Equal(tensor.Type, GgufQuantizationMix.TypeOf(fileType, kind, layer, (int)tensor.Dimensions[0], file.Config));
        }
        Assert.Equal(byName.Count, file.File.Tensors.Count);
    }

    /// <summary>
    /// allenai/OLMoE-1B-7B-0924-GGUF lists its files at 7.36 GB (Q8_0), 3.93 GB (Q4_0) and 4.21 GB (Q4_K_M): the
    /// tensor bytes of these types for the full-size model, plus the ≈1.8 MB of metadata the golden files have,
    /// round to the same.
    /// </summary>
    [Theory]
    [InlineData(GgufFileType.Q8_0, 7.36)]
    [InlineData(GgufFileType.Q4_0, 3.93)]
    [InlineData(GgufFileType.Q4_K_M, 4.21)]
    public void The_full_size_model_s_files_have_the_sizes_allenai_publishes(GgufFileType fileType, double gigabytes)
    {
        var config = OlmoeConfig.Olmoe1B7B;
        long metadata;
        using (var golden = GgufFile.Open(SharedData.Path("golden", "gguf", "small-k-q8_0", "model.gguf"))) metadata = golden.DataOffset;
        long bytes = metadata;
        foreach (var (_, kind, layer) in Names(config))
        {
            var (rows, cols) = Shape(config, kind);
            var type = GgufQuantizationMix.TypeOf(fileType, kind, layer, cols, config);
            Assert.True(GgmlTypeLayout.TryGet((uint)type, out _, out int blockSize, out int blockBytes));
            bytes += rows * (cols / blockSize) * blockBytes;
        }
        Assert.Equal(gigabytes, Math.Round(bytes / 1e9, 2));
    }

    [Fact]
    public void The_k_mixes_give_more_bits_to_llama_cpp_s_layers()
    {
        Assert.Equal([0, 1, 4, 7, 10, 13, 14, 15], Enumerable.Range(0, 16).Where(l => GgufQuantizationMix.UseMoreBits(l, 16)));
        Assert.Equal([1], Enumerable.Range(0, 2).Where(l => GgufQuantizationMix.UseMoreBits(l, 2)));
        var config = OlmoeConfig.Olmoe1B7B;
        foreach (var fileType in new[] { GgufFileType.Q4_K_M, GgufFileType.Q5_K_M })
        {
            Assert.Equal(GgmlType.Q6_K, GgufQuantizationMix.TypeOf(fileType, TensorKind.ExpertDown, 4, 1024, config));
            Assert.Equal(GgufQuantizationMix.BaseType(fileType), GgufQuantizationMix.TypeOf(fileType, TensorKind.ExpertDown, 5, 1024, config));
            Assert.Equal(GgmlType.Q6_K, GgufQuantizationMix.TypeOf(fileType, TensorKind.AttentionV, 15, 2048, config));
            Assert.Equal(GgufQuantizationMix.BaseType(fileType), GgufQuantizationMix.TypeOf(fileType, TensorKind.AttentionV, 2, 2048, config));
            Assert.Equal(GgmlType.Q6_K, GgufQuantizationMix.TypeOf(fileType, TensorKind.Output, -1, 2048, config));
        }
        // Norms and the router stay F32 in every file type; Q8_0 files keep the LM head Q8_0.
        Assert.Equal(GgmlType.F32, GgufQuantizationMix.TypeOf(GgufFileType.Q4_0, TensorKind.Router, 0, 2048, config));
        Assert.Equal(GgmlType.F32, GgufQuantizationMix.TypeOf(GgufFileType.BF16, TensorKind.FfnNorm, 0, 2048, config));
        Assert.Equal(GgmlType.Q8_0, GgufQuantizationMix.TypeOf(GgufFileType.Q8_0, TensorKind.Output, -1, 2048, config));
        Assert.Equal(GgmlType.BF16, GgufQuantizationMix.TypeOf(GgufFileType.BF16, TensorKind.Output, -1, 2048, config));
    }

    [Fact]
    public void Rows_that_are_not_whole_blocks_fall_back_as_llama_cpp_s_do()
    {
        Assert.Equal(GgmlType.Q5_0, GgufQuantizationMix.Fallback(GgmlType.Q4_K, 64));
        Assert.Equal(GgmlType.Q5_1, GgufQuantizationMix.Fallback(GgmlType.Q5_K, 96));
        Assert.Equal(GgmlType.Q8_0, GgufQuantizationMix.Fallback(GgmlType.Q6_K, 32));
        Assert.Equal(GgmlType.Q4_K, GgufQuantizationMix.Fallback(GgmlType.Q4_K, 512));
        Assert.Equal(GgmlType.F16, GgufQuantizationMix.Fallback(GgmlType.Q4_K, 48));
        Assert.Equal(GgmlType.F16, GgufQuantizationMix.Fallback(GgmlType.Q8_0, 48));
        // The LM head of a file whose rows are not whole super-blocks is Q8_0, as llama.cpp makes it.
        var narrow = RandomCheckpoint.Tiny;
        Assert.Equal(GgmlType.Q8_0, GgufQuantizationMix.TypeOf(GgufFileType.Q4_K_M, TensorKind.Output, -1, narrow.HiddenSize, narrow));
    }

    /// <summary>Every tensor of a model of <paramref name="c"/>: GGUF name, kind, layer.</summary>
    private static IEnumerable<(string Name, TensorKind Kind, int Layer)> Names(OlmoeConfig c)
    {
        foreach (var kind in new[] { TensorKind.TokenEmbedding, TensorKind.OutputNorm, TensorKind.Output })
            yield return (GgufTensorNames.Of(kind), kind, -1);
        for (int l = 0; l < c.NumHiddenLayers; l++)
            foreach (var kind in Enum.GetValues<TensorKind>().Where(k => k is not (TensorKind.TokenEmbedding or TensorKind.OutputNorm or TensorKind.Output)))
                yield return (GgufTensorNames.Of(kind, l), kind, l);
    }

    /// <summary>The matrix shape [rows (all experts), cols] of a tensor kind; 1 × length for the norms.</summary>
    private static (long Rows, int Cols) Shape(OlmoeConfig c, TensorKind kind)
    {
        int d = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize;
        return kind switch
        {
            TensorKind.TokenEmbedding or TensorKind.Output => (c.VocabSize, d),
            TensorKind.AttentionQ => (q, d),
            TensorKind.AttentionK or TensorKind.AttentionV => (kv, d),
            TensorKind.AttentionOutput => (d, q),
            TensorKind.Router => (c.NumExperts, d),
            TensorKind.ExpertGate or TensorKind.ExpertUp => ((long)c.NumExperts * c.IntermediateSize, d),
            TensorKind.ExpertDown => ((long)c.NumExperts * d, c.IntermediateSize),
            TensorKind.AttentionQNorm => (1, q),
            TensorKind.AttentionKNorm => (1, kv),
            _ => (1, d),
        };
    }
}
