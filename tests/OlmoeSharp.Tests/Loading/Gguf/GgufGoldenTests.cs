using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Tests.Loading.Gguf;

/// <summary>The reader on the three GGUF files llama.cpp's own quantizer made (shared/golden/gguf).</summary>
public sealed class GgufGoldenTests
{
    private static GgufFile OpenGolden(string folder) => GgufFile.Open(SharedData.Path("golden", "gguf", folder, "model.gguf"));

    [Theory]
    [InlineData("small-k-q8_0")]
    [InlineData("small-k-q4_0")]
    [InlineData("small-k-q4_k_m")]
    public void Metadata_reads_as_llama_cpp_wrote_it(string folder)
    {
        using var file = OpenGolden(folder);
        Assert.Equal(3u, file.Version);
        Assert.Equal(GgufFile.DefaultAlignment, file.Alignment);
        Assert.Equal("olmoe", file.GetString("general.architecture"));
        Assert.Equal(2u, file.GetUInt32("olmoe.block_count"));
        Assert.Equal(256u, file.GetUInt32("olmoe.embedding_length"));
        Assert.Equal(8u, file.GetUInt32("olmoe.expert_count"));
        Assert.Equal(2u, file.GetUInt32("olmoe.expert_used_count"));
        Assert.Equal(1e-5f, file.GetFloat32("olmoe.attention.layer_norm_rms_epsilon"), 1e-9f);
        Assert.Equal("gpt2", file.GetString("tokenizer.ggml.model"));
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens");
        Assert.Equal(50304, tokens.Length);
        Assert.Equal(50304, file.GetArray<int>("tokenizer.ggml.token_type").Length);
        Assert.NotEmpty(file.GetArray<string>("tokenizer.ggml.merges"));
    }

    [Theory]
    [InlineData("small-k-q8_0")]
    [InlineData("small-k-q4_0")]
    [InlineData("small-k-q4_k_m")]
    public void Every_tensor_is_named_shaped_and_inside_the_file(string folder)
    {
        using var file = OpenGolden(folder);
        // token_embd, output_norm, output, and 12 per layer.
        Assert.Equal(3 + 2 * 12, file.Tensors.Count);
        long end = 0;
        foreach (var tensor in file.Tensors)
        {
            Assert.Equal(tensor.ByteLength, file.GetBytes(tensor).Length);
            end = Math.Max(end, tensor.DataStart + tensor.ByteLength);
        }
        Assert.True(file.DataOffset + end <= new FileInfo(file.FilePath).Length);
        Assert.Equal([256L, 50304L], file.GetTensor("token_embd.weight").Dimensions);
        Assert.Equal([256L, 256L, 8L], file.GetTensor("blk.0.ffn_gate_exps.weight").Dimensions);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.1.attn_norm.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("blk.0.ffn_gate_inp.weight").Type);
        Assert.Equal(GgmlType.F32, file.GetTensor("output_norm.weight").Type);
    }

    [Theory]
    [InlineData("small-k-q8_0", GgmlType.Q8_0, GgmlType.Q8_0, GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData("small-k-q4_0", GgmlType.Q4_0, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q6_K)]
    [InlineData("small-k-q4_k_m", GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.Q5_K, GgmlType.Q6_K)]
    public void Tensor_types_follow_the_quantization_mix(string folder, GgmlType query, GgmlType keyValue, GgmlType attentionOutput, GgmlType output)
    {
        using var file = OpenGolden(folder);
        for (int layer = 0; layer < 2; layer++)
        {
            Assert.Equal(query, file.GetTensor($"blk.{layer}.attn_q.weight").Type);
            Assert.Equal(keyValue, file.GetTensor($"blk.{layer}.attn_k.weight").Type);
            Assert.Equal(keyValue, file.GetTensor($"blk.{layer}.attn_v.weight").Type);
            Assert.Equal(attentionOutput, file.GetTensor($"blk.{layer}.attn_output.weight").Type);
        }
        Assert.Equal(output, file.GetTensor("output.weight").Type);
    }

    [Fact]
    public void A_wrong_type_or_missing_key_names_the_file_and_key()
    {
        using var file = OpenGolden("small-k-q8_0");
        var wrongType = Assert.Throws<ModelFormatException>(() => file.GetUInt32("general.architecture"));
        Assert.Equal("general.architecture", wrongType.Item);
        Assert.Contains("string", wrongType.Message);
        Assert.StartsWith(file.FilePath + ":", wrongType.Message);
        var missing = Assert.Throws<ModelFormatException>(() => file.GetString("no.such.key"));
        Assert.Equal("no.such.key", missing.Item);
        Assert.False(file.TryGet<string>("no.such.key", out _));
        Assert.Throws<ModelFormatException>(() => file.GetTensor("no.such.tensor"));
    }
}
