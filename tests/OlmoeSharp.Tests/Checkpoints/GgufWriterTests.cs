using System.Text.Json;
using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Tests.Checkpoints;

/// <summary><see cref="GgufWriter"/> against the hardened reader: every value type, tensors aligned and in place.</summary>
public sealed class GgufWriterTests
{
    [Fact]
    public void Every_value_type_and_tensor_reads_back_as_written()
    {
        var values = new (string Key, GgufValue Value)[]
        {
            ("u8", new(GgufValueType.UInt8, GgufValueType.UInt8, (byte)200)),
            ("i8", new(GgufValueType.Int8, GgufValueType.Int8, (sbyte)-100)),
            ("u16", new(GgufValueType.UInt16, GgufValueType.UInt16, (ushort)60000)),
            ("i16", new(GgufValueType.Int16, GgufValueType.Int16, (short)-30000)),
            ("u32", new(GgufValueType.UInt32, GgufValueType.UInt32, 4_000_000_000u)),
            ("i32", new(GgufValueType.Int32, GgufValueType.Int32, -2_000_000_000)),
            ("f32", new(GgufValueType.Float32, GgufValueType.Float32, 1e-5f)),
            ("bool", new(GgufValueType.Bool, GgufValueType.Bool, true)),
            ("string", new(GgufValueType.String, GgufValueType.String, "olmoe ✓ Ġ")),
            ("u64", new(GgufValueType.UInt64, GgufValueType.UInt64, ulong.MaxValue)),
            ("i64", new(GgufValueType.Int64, GgufValueType.Int64, long.MinValue)),
            ("f64", new(GgufValueType.Float64, GgufValueType.Float64, Math.PI)),
            ("strings", new(GgufValueType.Array, GgufValueType.String, new[] { "a", "", "Ġt" })),
            ("ints", new(GgufValueType.Array, GgufValueType.Int32, new[] { 1, -2, 3 })),
            ("floats", new(GgufValueType.Array, GgufValueType.Float32, new[] { 0.5f, -1f })),
            ("empty", new(GgufValueType.Array, GgufValueType.UInt8, Array.Empty<byte>())),
        };
        var gguf = new GgufWriter();
        foreach (var (key, value) in values) gguf.Add(key, value);
        byte[] first = [.. Enumerable.Range(0, 34 * 3).Select(i => (byte)i)];
        float[] second = [1, 2, 3];
        gguf.Add(new GgufTensorToWrite("a.weight", [32, 3], GgmlType.Q8_0, first.Length, s => s.Write(first)));
        gguf.Add(new GgufTensorToWrite("b.weight", [3], GgmlType.F32, 12, s => s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(second.AsSpan()))));
        Assert.Throws<ArgumentException>(() => gguf.Add("u8", values[0].Value));

        using var dir = new TempDirectory();
        gguf.Write(dir.File("x.gguf"));
        using var file = GgufFile.Open(dir.File("x.gguf"));
        Assert.Equal(values.Select(v => v.Key), file.MetadataKeys);
        foreach (var (key, value) in values)
        {
            Assert.Equal(value.TypeName, file.Metadata[key].TypeName);
            Assert.Equal(JsonSerializer.Serialize(value.Value), JsonSerializer.Serialize(file.Metadata[key].Value));
        }
        var a = file.GetTensor("a.weight");
        Assert.Equal([32L, 3L], a.Dimensions);
        Assert.Equal(first, file.GetBytes(a).ToArray());
        var b = file.GetTensor("b.weight");
        Assert.Equal(0, b.DataStart % GgufWriter.Alignment);
        Assert.Equal(second, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetBytes(b)).ToArray());
    }
}
