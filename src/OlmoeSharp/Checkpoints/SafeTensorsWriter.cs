using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Checkpoints;

/// <summary>A tensor to write: its name, type, shape, and a callback that produces its bytes in order.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Fill">
/// Called repeatedly with consecutive chunks of the tensor's data (the second argument is the chunk's byte offset
/// within the tensor) until every byte is written; chunks hold whole elements.
/// </param>
public sealed record TensorToWrite(string Name, TensorDType DType, long[] Shape, Action<Span<byte>, long> Fill)
{
    /// <summary>Size of the tensor's data in bytes.</summary>
    public long ByteCount => Shape.Aggregate(1L, (a, b) => checked(a * b)) * DType.SizeInBytes();
}

/// <summary>
/// Writes safetensors files streaming: the header first (offsets follow from the shapes), then each tensor's data
/// chunk by chunk, so a multi-gigabyte file needs only a small buffer.
/// </summary>
public static class SafeTensorsWriter
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/> in the given order.</summary>
    /// <param name="path">The file to create (overwritten if present).</param>
    /// <param name="tensors">The tensors, in file order.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings.</param>
    /// <param name="onBytesWritten">Receives the number of data bytes written after each chunk.</param>
    public static void Write(string path, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        Action<long>? onBytesWritten = null)
    {
        byte[] header = BuildHeader(tensors, metadata);
        using var stream = new AlignedFileWriter(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);

        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            foreach (var tensor in tensors)
            {
                long total = tensor.ByteCount;
                int chunkLimit = ChunkBytes - ChunkBytes % tensor.DType.SizeInBytes();
                for (long offset = 0; offset < total;)
                {
                    int chunk = (int)Math.Min(chunkLimit, total - offset);
                    var span = buffer.AsSpan(0, chunk);
                    tensor.Fill(span, offset);
                    stream.Write(span);
                    offset += chunk;
                    onBytesWritten?.Invoke(chunk);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes so the data section stays aligned.</summary>
    private static byte[] BuildHeader(IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var tensor in tensors)
            {
                writer.WriteStartObject(tensor.Name);
                writer.WriteString("dtype", tensor.DType.Name());
                writer.WriteStartArray("shape");
                foreach (long d in tensor.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += tensor.ByteCount;
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        int padding = (int)((8 - json.Length % 8) % 8);
        json.Write(Encoding.ASCII.GetBytes(new string(' ', padding)));
        return json.ToArray();
    }
}
