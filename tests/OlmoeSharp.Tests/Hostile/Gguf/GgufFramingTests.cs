using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Hostile.Gguf;

/// <summary>The framing of a GGUF file — magic, version, counts, then entries, tensor infos, data — cut short or lying.</summary>
public sealed class GgufFramingTests
{
    [Theory]
    [InlineData(2u)]
    [InlineData(3u)]
    public void A_valid_file_opens_and_its_tensors_are_views_of_their_bytes(uint version)
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        builder.Version = version;
        var bytes = builder.Build();
        using var file = GgufFile.Open(builder.WriteTo(dir.File("m.gguf")));
        Assert.Equal(version, file.Version);
        Assert.Equal(["a", "b", "ab"], file.GetArray<string>("tokenizer.ggml.tokens"));
        var tensor = file.GetTensor("output_norm.weight");
        Assert.Equal(bytes.AsSpan((int)(file.DataOffset + tensor.DataStart), 128).ToArray(), file.GetBytes(tensor).ToArray());
    }

    [Fact]
    public void Truncation_at_every_byte_is_refused()
    {
        using var dir = new TempDirectory();
        var bytes = GgufBuilder.Valid().Build();
        string path = dir.File("m.gguf");
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            GgufAssert.RejectsFile(path);
        }
    }

    [Theory]
    [InlineData("version")]
    [InlineData("tensor count")]
    [InlineData("metadata count")]
    [InlineData("metadata")]
    [InlineData("tensor infos")]
    [InlineData("data")]
    public void Truncation_at_a_region_boundary_is_refused(string region)
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        var bytes = builder.Build();
        string path = dir.File("m.gguf");
        File.WriteAllBytes(path, bytes[..(int)builder.Regions[region]]);
        GgufAssert.RejectsFile(path);
    }

    [Fact]
    public void A_bad_magic_is_refused()
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        builder.Magic = 0x4C4D4747; // "GGML"
        var error = GgufAssert.Rejects(builder.WriteTo(dir.File("m.gguf")), item: null);
        Assert.Contains("not a GGUF file", error.Message);
    }

    [Theory]
    [InlineData(0u, "version 0")]
    [InlineData(1u, "version 1")]
    [InlineData(4u, "version 4")]
    [InlineData(0x03000000u, "big-endian")]
    public void An_unsupported_version_is_refused(uint version, string expected)
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        builder.Version = version;
        var error = GgufAssert.Rejects(builder.WriteTo(dir.File("m.gguf")), item: null);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 32)]
    [InlineData(4UL)]
    public void A_lying_tensor_count_is_refused(ulong count)
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        builder.TensorCount = count;
        GgufAssert.RejectsFile(builder.WriteTo(dir.File("m.gguf")));
    }

    [Theory]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 32)]
    public void A_lying_metadata_count_is_refused(ulong count)
    {
        using var dir = new TempDirectory();
        var builder = GgufBuilder.Valid();
        builder.EntryCount = count;
        var error = GgufAssert.Rejects(builder.WriteTo(dir.File("m.gguf")), item: null);
        Assert.Contains(count.ToString(), error.Message);
    }

    [LinuxFact]
    public void A_fifo_in_place_of_the_file_is_refused_without_blocking()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.gguf");
        Fifo.Create(path);
        var error = Fifo.Throws<ModelFormatException>(path, TimeSpan.FromSeconds(5), () => GgufFile.Open(path).Dispose());
        Assert.Equal(path, error.FilePath);
    }

    [Fact]
    public void A_missing_file_is_not_found()
    {
        using var dir = new TempDirectory();
        Assert.Throws<FileNotFoundException>(() => GgufFile.Open(dir.File("absent.gguf")));
    }
}
