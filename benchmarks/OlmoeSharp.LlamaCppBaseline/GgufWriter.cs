using System.Text;
using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>One tensor of a GGUF file: its name, its dims innermost first, its type and a writer of its bytes.</summary>
internal sealed record GgufTensorToWrite(string Name, ulong[] Dims, GgmlType Type, long ByteLength, Action<Stream> WriteData);

/// <summary>
/// Writes a GGUF v3 file (ggml's docs/gguf.md): header, metadata key/values, tensor infos, then the tensor data, each
/// tensor aligned to <see cref="Alignment"/> bytes. Tensor bytes are streamed, so the file is never held in memory.
/// </summary>
internal sealed class GgufWriter
{
    public const int Alignment = 32;

    private readonly List<Action<BinaryWriter>> _metadata = [];
    private readonly List<GgufTensorToWrite> _tensors = [];

    public void Add(string key, uint value) => AddEntry(key, w => { w.Write((uint)GgufValueType.UInt32); w.Write(value); });

    public void Add(string key, float value) => AddEntry(key, w => { w.Write((uint)GgufValueType.Float32); w.Write(value); });

    public void Add(string key, bool value) => AddEntry(key, w => { w.Write((uint)GgufValueType.Bool); w.Write(value); });

    public void Add(string key, string value) => AddEntry(key, w => { w.Write((uint)GgufValueType.String); WriteString(w, value); });

    public void Add(string key, IReadOnlyList<string> values) => AddEntry(key, w =>
    {
        w.Write((uint)GgufValueType.Array);
        w.Write((uint)GgufValueType.String);
        w.Write((ulong)values.Count);
        foreach (var value in values) WriteString(w, value);
    });

    public void Add(string key, IReadOnlyList<int> values) => AddEntry(key, w =>
    {
        w.Write((uint)GgufValueType.Array);
        w.Write((uint)GgufValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (var value in values) w.Write(value);
    });

    public void Add(GgufTensorToWrite tensor) => _tensors.Add(tensor);

    public void Write(string path)
    {
        // Aligned writes leave the file cached in huge folios, as olmoe's own checkpoints are: equal footing for the bench.
        using var stream = new OlmoeSharp.Checkpoints.AlignedFileWriter(path);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write("GGUF"u8);
        writer.Write(3u);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach (var entry in _metadata) entry(writer);
        ulong offset = 0;
        foreach (var tensor in _tensors)
        {
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Dims.Length);
            foreach (var dim in tensor.Dims) writer.Write(dim);
            writer.Write((uint)tensor.Type);
            writer.Write(offset);
            offset = AlignUp(offset + (ulong)tensor.ByteLength);
        }
        writer.Flush();
        Pad(stream);
        long dataStart = stream.Position;
        foreach (var tensor in _tensors)
        {
            long before = stream.Position;
            tensor.WriteData(stream);
            if (stream.Position - before != tensor.ByteLength)
                throw new InvalidOperationException($"{tensor.Name}: wrote {stream.Position - before} bytes, expected {tensor.ByteLength}.");
            Pad(stream);
        }
        if ((ulong)(stream.Position - dataStart) != offset) throw new InvalidOperationException("GGUF data section length mismatch.");
    }

    private void AddEntry(string key, Action<BinaryWriter> writeValue) => _metadata.Add(w => { WriteString(w, key); writeValue(w); });

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static ulong AlignUp(ulong value) => (value + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream)
    {
        long padding = (long)AlignUp((ulong)stream.Position) - stream.Position;
        for (long i = 0; i < padding; i++) stream.WriteByte(0);
    }
}
