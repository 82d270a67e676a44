namespace OlmoeSharp.Tests.Hostile.Gguf;

/// <summary>Tensor infos that lie about their type, dimensions or place in the data.</summary>
public sealed class GgufTensorInfoTests
{
    private const string Embedding = "token_embd.weight";

    private static string Write(TempDirectory dir, Func<GgufBuilder.Tensor, GgufBuilder.Tensor> change, int index = 0)
    {
        var builder = GgufBuilder.Valid();
        builder.ReplaceTensor(index, change);
        return builder.WriteTo(dir.File("m.gguf"));
    }

    [Theory]
    [InlineData(4u)]
    [InlineData(16u)]
    [InlineData(9999u)]
    public void An_unknown_type_names_the_id_the_tensor_and_the_supported_types(uint type)
    {
        using var dir = new TempDirectory();
        var error = GgufAssert.Rejects(Write(dir, t => t with { TypeId = type }), Embedding);
        Assert.Contains($"ggml type {type}", error.Message);
        Assert.Contains("Q8_0 (8)", error.Message);
        Assert.Contains("IQ4_XS (23)", error.Message);
    }

    [Theory]
    [InlineData(new ulong[] { 0, 3 })]
    [InlineData(new ulong[] { 32, 0 })]
    [InlineData(new ulong[] { 1UL << 63, 1 })]
    [InlineData(new ulong[] { 1UL << 32, 1UL << 32 })]
    [InlineData(new ulong[] { 32, 1UL << 58 })]
    [InlineData(new ulong[] { 16, 3 })]
    [InlineData(new ulong[] { })]
    [InlineData(new ulong[] { 32, 1, 1, 1, 1 })]
    public void Impossible_dimensions_name_the_tensor(ulong[] dims)
    {
        using var dir = new TempDirectory();
        GgufAssert.Rejects(Write(dir, t => t with { Dims = dims }), Embedding);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(16UL)]
    public void A_misaligned_offset_names_the_tensor(ulong offset)
    {
        using var dir = new TempDirectory();
        Assert.Contains("alignment", GgufAssert.Rejects(Write(dir, t => t with { Offset = offset }), Embedding).Message);
    }

    [Theory]
    [InlineData(1UL << 20)]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue - 31)]
    public void An_offset_outside_the_file_names_the_tensor(ulong offset)
    {
        using var dir = new TempDirectory();
        Assert.Contains("past the end", GgufAssert.Rejects(Write(dir, t => t with { Offset = offset }), Embedding).Message);
    }

    [Fact]
    public void Overlapping_tensors_are_refused()
    {
        using var dir = new TempDirectory();
        // The second tensor is moved onto the first one's bytes.
        var error = GgufAssert.Rejects(Write(dir, t => t with { Offset = 0 }, index: 1), "output_norm.weight");
        Assert.Contains("overlap", error.Message);
        Assert.Contains(Embedding, error.Message);
    }

    [Fact]
    public void A_duplicate_tensor_name_is_refused()
    {
        using var dir = new TempDirectory();
        Assert.Contains("twice", GgufAssert.Rejects(Write(dir, t => t with { Name = Embedding }, index: 1), Embedding).Message);
    }

    [Fact]
    public void A_lying_tensor_name_length_names_the_tensor_entry()
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        var bytes = builder.Build();
        // The first tensor info starts with its name's length.
        BitConverter.TryWriteBytes(bytes.AsSpan((int)builder.Regions["tensor infos"]), ulong.MaxValue);
        string path = dir.File("m.gguf");
        File.WriteAllBytes(path, bytes);
        GgufAssert.Rejects(path, "tensor 0");
    }
}
