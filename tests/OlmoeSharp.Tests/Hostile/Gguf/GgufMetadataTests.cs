namespace OlmoeSharp.Tests.Hostile.Gguf;

/// <summary>Metadata entries that lie about their lengths, types or values, or repeat a key.</summary>
public sealed class GgufMetadataTests
{
    private static string Write(TempDirectory dir, Action<GgufBuilder> damage)
    {
        var builder = GgufBuilder.Valid();
        damage(builder);
        return builder.WriteTo(dir.File("m.gguf"));
    }

    [Theory]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1000UL)]
    public void A_lying_key_length_names_the_entry(ulong length)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRawEntry(w => { w.Write(length); w.Write("xy"u8); }));
        GgufAssert.Rejects(path, "metadata entry 3");
    }

    [Theory]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    public void A_lying_string_value_length_names_the_key(ulong length)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("general.name", w => { w.Write(GgufBuilder.StringType); w.Write(length); }));
        GgufAssert.Rejects(path, "general.name");
    }

    [Theory]
    [InlineData(GgufBuilder.StringType, 1UL << 63)]
    [InlineData(GgufBuilder.StringType, ulong.MaxValue)]
    [InlineData(GgufBuilder.Uint32Type, 1UL << 62)]
    [InlineData(0u, 100_000UL)]
    public void A_lying_array_length_names_the_key(uint elementType, ulong length)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("tokenizer.ggml.merges", w => { w.Write(GgufBuilder.ArrayType); w.Write(elementType); w.Write(length); }));
        var error = GgufAssert.Rejects(path, "tokenizer.ggml.merges");
        Assert.Contains(length.ToString(), error.Message);
    }

    [Fact]
    public void A_nested_array_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("x.nested", w => { w.Write(GgufBuilder.ArrayType); w.Write(GgufBuilder.ArrayType); w.Write(0UL); }));
        Assert.Contains("nested", GgufAssert.Rejects(path, "x.nested").Message);
    }

    [Theory]
    [InlineData(13u)]
    [InlineData(uint.MaxValue)]
    public void An_unknown_value_type_names_the_key(uint type)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("x.odd", w => { w.Write(type); w.Write(0UL); }));
        Assert.Contains(type.ToString(), GgufAssert.Rejects(path, "x.odd").Message);
    }

    [Fact]
    public void A_bool_that_is_neither_0_nor_1_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("x.flag", w => { w.Write(7u); w.Write((byte)2); }));
        GgufAssert.Rejects(path, "x.flag");
    }

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("x.text", w => { w.Write(GgufBuilder.StringType); w.Write(2UL); w.Write((byte)0xC3); w.Write((byte)0x28); }));
        GgufAssert.Rejects(path, "x.text");
    }

    [Fact]
    public void A_duplicate_key_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddUInt32("olmoe.block_count", 3));
        Assert.Contains("twice", GgufAssert.Rejects(path, "olmoe.block_count").Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(48)]
    [InlineData(2 << 20)]
    public void An_alignment_that_is_not_a_sane_power_of_two_is_refused(int alignment)
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.Alignment = alignment);
        GgufAssert.Rejects(path, "general.alignment");
    }

    [Fact]
    public void A_zero_alignment_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddUInt32("general.alignment", 0));
        GgufAssert.Rejects(path, "general.alignment");
    }

    [Fact]
    public void An_alignment_of_the_wrong_type_is_refused()
    {
        using var dir = new TempDirectory();
        string path = Write(dir, b => b.AddRaw("general.alignment", w => { w.Write(GgufBuilder.Uint64Type); w.Write(32UL); }));
        Assert.Contains("uint32", GgufAssert.Rejects(path, "general.alignment").Message);
    }

    [Fact]
    public void A_larger_power_of_two_alignment_is_honoured()
    {
        using var dir = new TempDirectory();
        using var file = OlmoeSharp.Loading.Gguf.GgufFile.Open(Write(dir, b => b.Alignment = 256));
        Assert.Equal(256, file.Alignment);
        Assert.Equal(0, file.DataOffset % 256);
    }
}
