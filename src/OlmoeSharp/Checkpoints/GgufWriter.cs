using System.Text;
using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Checkpoints;

/// <summary>One tensor of a GGUF file: its name, its dimensions innermost first, its type and a writer of its bytes.</summary>
internal sealed record GgufTensorToWrite(string Name, ulong[] Dims, GgmlType Type, long ByteLength, Action<Stream> WriteData);

/// <summary>
/// Writes a GGUF v3 file (ggml's docs/gguf.md): header, metadata key/values, tensor infos, then the tensor data, each
/// tensor aligned to <see cref="Alignment"/> bytes. Tensor bytes are streamed, so the file is never held in memory.
/// The inverse of <see cref="GgufFile"/>: any value it reads can be written back (<see cref="Add(string, GgufValue)"/>).
/// </summary>
internal sealed class GgufWriter
{
    public const int Alignment = GgufFile.DefaultAlignment;

    private readonly List<(string Key, GgufValue Value)> _metadata = [];
    private readonly List<GgufTensorToWrite> _tensors = [];

    public IReadOnlyList<GgufTensorToWrite> Tensors => _tensors;

    public void Add(string key, uint value) => Add(key, new GgufValue(GgufValueType.UInt32, GgufValueType.UInt32, value));

    public void Add(string key, float value) => Add(key, new GgufValue(GgufValueType.Float32, GgufValueType.Float32, value));

    public void Add(string key, bool value) => Add(key, new GgufValue(GgufValueType.Bool, GgufValueType.Bool, value));

    public void Add(string key, string value) => Add(key, new GgufValue(GgufValueType.String, GgufValueType.String, value));

    public void Add(string key, string[] values) => Add(key, new GgufValue(GgufValueType.Array, GgufValueType.String, values));

    public void Add(string key, int[] values) => Add(key, new GgufValue(GgufValueType.Array, GgufValueType.Int32, values));

    /// <summary>A value of any type, as <see cref="GgufFile"/> reads it (scalars as their .NET type, arrays as arrays of it).</summary>
    public void Add(string key, GgufValue value)
    {
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"metadata key {key} is already set.", nameof(key));
        _metadata.Add((key, value));
    }

    public void Add(GgufTensorToWrite tensor) => _tensors.Add(tensor);

    /// <summary>Writes the file; <paramref name="onTensorWritten"/> gets each tensor after its bytes are out.</summary>
    public void Write(string path, Action<GgufTensorToWrite>? onTensorWritten = null)
    {
        // Aligned writes leave the file cached in huge folios, as olmoe's own checkpoints are.
        using var stream = new AlignedFileWriter(path);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write("GGUF"u8);
        writer.Write(3u);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(writer, key);
            writer.Write((uint)value.Type);
            if (value.Type == GgufValueType.Array)
            {
                var array = (Array)value.Value;
                writer.Write((uint)value.ElementType);
                writer.Write((ulong)array.Length);
                foreach (var element in array) WriteScalar(writer, value.ElementType, element);
            }
            else
            {
                WriteScalar(writer, value.Type, value.Value);
            }
        }
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
            onTensorWritten?.Invoke(tensor);
        }
        if ((ulong)(stream.Position - dataStart) != offset) throw new InvalidOperationException("GGUF data section length mismatch.");
    }

    private static void WriteScalar(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: writer.Write((byte)value); break;
            case GgufValueType.Int8: writer.Write((sbyte)value); break;
            case GgufValueType.UInt16: writer.Write((ushort)value); break;
            case GgufValueType.Int16: writer.Write((short)value); break;
            case GgufValueType.UInt32: writer.Write((uint)value); break;
            case GgufValueType.Int32: writer.Write((int)value); break;
            case GgufValueType.Float32: writer.Write((float)value); break;
            case GgufValueType.Bool: writer.Write((bool)value); break;
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt64: writer.Write((ulong)value); break;
            case GgufValueType.Int64: writer.Write((long)value); break;
            case GgufValueType.Float64: writer.Write((double)value); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "not a scalar GGUF type.");
        }
    }

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
