using System.Text;

namespace OlmoeSharp.Tests.Hostile.Gguf;

/// <summary>
/// Writes small GGUF files for the hostile tests, with every field open to a lie: magic, version, counts, raw entries,
/// tensor types, dimensions and offsets. Records where each region starts so a test can cut or patch the file there.
/// </summary>
internal sealed class GgufBuilder
{
    public const uint Uint32Type = 4, Int32Type = 5, Float32Type = 6, BoolType = 7, StringType = 8, ArrayType = 9, Uint64Type = 10;

    private readonly List<Action<BinaryWriter>> _entries = [];
    private readonly List<string?> _entryKeys = [];
    private readonly List<Tensor> _tensors = [];

    /// <summary>A tensor info as written: dims innermost first, an explicit offset or the next aligned one.</summary>
    public sealed record Tensor(string Name, uint TypeId, ulong[] Dims, int ByteLength, ulong? Offset);

    public uint Magic { get; set; } = 0x46554747;

    public uint Version { get; set; } = 3;

    /// <summary>A tensor count to write instead of the real one.</summary>
    public ulong? TensorCount { get; set; }

    /// <summary>A metadata count to write instead of the real one.</summary>
    public ulong? EntryCount { get; set; }

    /// <summary>The alignment the data is laid out with (written as general.alignment when not 32).</summary>
    public int Alignment { get; set; } = 32;

    /// <summary>Offsets of the regions of the last file built: header fields, entries, tensor infos, data.</summary>
    public Dictionary<string, long> Regions { get; } = [];

    /// <summary>A valid little model: three metadata entries of different types and three tensors.</summary>
    public static GgufBuilder Valid()
    {
        var builder = new GgufBuilder();
        builder.AddString("general.architecture", "olmoe");
        builder.AddUInt32("olmoe.block_count", 2);
        builder.AddStringArray("tokenizer.ggml.tokens", ["a", "b", "ab"]);
        builder.AddTensor("token_embd.weight", 8, [32, 3], 3 * 34); // Q8_0
        builder.AddTensor("output_norm.weight", 0, [32], 32 * 4); // F32
        builder.AddTensor("blk.0.ffn_down_exps.weight", 12, [256, 2, 2], 4 * 144); // Q4_K
        return builder;
    }

    public void AddUInt32(string key, uint value) => AddRaw(key, w => { w.Write(Uint32Type); w.Write(value); });

    public void AddFloat32(string key, float value) => AddRaw(key, w => { w.Write(Float32Type); w.Write(value); });

    public void AddBool(string key, bool value) => AddRaw(key, w => { w.Write(BoolType); w.Write(value); });

    public void AddString(string key, string value) => AddRaw(key, w => { w.Write(StringType); WriteString(w, value); });

    public void AddStringArray(string key, string[] values) => AddRaw(key, w =>
    {
        w.Write(ArrayType);
        w.Write(StringType);
        w.Write((ulong)values.Length);
        foreach (var value in values) WriteString(w, value);
    });

    /// <summary>An entry whose type and value <paramref name="writeTypeAndValue"/> writes, lies included.</summary>
    public void AddRaw(string key, Action<BinaryWriter> writeTypeAndValue)
    {
        _entries.Add(w => { WriteString(w, key); writeTypeAndValue(w); });
        _entryKeys.Add(key);
    }

    /// <summary>An entry written byte for byte by <paramref name="write"/>, key included.</summary>
    public void AddRawEntry(Action<BinaryWriter> write)
    {
        _entries.Add(write);
        _entryKeys.Add(null);
    }

    /// <summary>Removes the entries added under <paramref name="key"/>.</summary>
    public void RemoveEntry(string key)
    {
        for (int i = _entries.Count - 1; i >= 0; i--)
            if (_entryKeys[i] == key) { _entries.RemoveAt(i); _entryKeys.RemoveAt(i); }
    }

    public void AddTensor(string name, uint typeId, ulong[] dims, int byteLength, ulong? offset = null) =>
        _tensors.Add(new Tensor(name, typeId, dims, byteLength, offset));

    public void ReplaceTensor(int index, Func<Tensor, Tensor> change) => _tensors[index] = change(_tensors[index]);

    public byte[] Build()
    {
        var stream = new MemoryStream();
        var w = new BinaryWriter(stream, Encoding.UTF8);
        Regions.Clear();
        w.Write(Magic);
        Regions["version"] = stream.Position;
        w.Write(Version);
        Regions["tensor count"] = stream.Position;
        w.Write(TensorCount ?? (ulong)_tensors.Count);
        Regions["metadata count"] = stream.Position;
        bool alignmentEntry = Alignment != 32;
        w.Write(EntryCount ?? (ulong)(_entries.Count + (alignmentEntry ? 1 : 0)));
        Regions["metadata"] = stream.Position;
        foreach (var entry in _entries) entry(w);
        if (alignmentEntry)
        {
            WriteString(w, "general.alignment");
            w.Write(Uint32Type);
            w.Write((uint)Alignment);
        }
        Regions["tensor infos"] = stream.Position;
        var offsets = new List<long>();
        long next = 0;
        foreach (var tensor in _tensors)
        {
            WriteString(w, tensor.Name);
            w.Write((uint)tensor.Dims.Length);
            foreach (var dim in tensor.Dims) w.Write(dim);
            w.Write(tensor.TypeId);
            w.Write(tensor.Offset ?? (ulong)next);
            offsets.Add(next);
            next = Align(next + tensor.ByteLength);
        }
        long dataStart = Align(stream.Position);
        Regions["data"] = dataStart;
        long end = dataStart;
        for (int i = 0; i < _tensors.Count; i++) end = Math.Max(end, dataStart + offsets[i] + _tensors[i].ByteLength);
        w.Flush();
        stream.SetLength(end);
        // Recognisable, non-zero tensor bytes, so a test can tell a view of the right bytes from one of padding.
        var bytes = stream.ToArray();
        for (long i = dataStart; i < end; i++) bytes[i] = (byte)(i * 7 + 1);
        return bytes;
    }

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, Build());
        return path;
    }

    public static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private long Align(long value) => (value + Alignment - 1) / Alignment * Alignment;
}
