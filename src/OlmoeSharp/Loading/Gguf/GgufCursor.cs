using System.Buffers.Binary;
using System.Text;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// Reads the header of a mapped GGUF file front to back. Every read is checked against the end of the file first, so
/// a truncated or lying header ends in a <see cref="ModelFormatException"/> naming the file and the entry being read,
/// never in a read past the mapping.
/// </summary>
internal sealed unsafe class GgufCursor(byte* start, long length, string path)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Offset of the next byte to read.</summary>
    public long Position { get; private set; }

    /// <summary>Bytes left between <see cref="Position"/> and the end of the file.</summary>
    public long Remaining => length - Position;

    /// <summary>The file, for messages.</summary>
    public string FilePath => path;

    public byte ReadUInt8(string what, string? item) => *Take(1, what, item);

    public ushort ReadUInt16(string what, string? item) => BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(Take(2, what, item), 2));

    public uint ReadUInt32(string what, string? item) => BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(Take(4, what, item), 4));

    public ulong ReadUInt64(string what, string? item) => BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(Take(8, what, item), 8));

    /// <summary>A length-prefixed UTF-8 string; the length is checked against the bytes left before anything is allocated.</summary>
    public string ReadString(string what, string? item)
    {
        ulong declared = ReadUInt64($"the length of {what}", item);
        if (declared > (ulong)Remaining)
            throw Fault($"{what} declares {declared} bytes at byte {Position - 8}, but only {Remaining} remain in the file.", item);
        int count = declared <= int.MaxValue ? (int)declared
            : throw Fault($"{what} declares {declared} bytes, more than a string can hold.", item);
        byte* bytes = Take(count, what, item);
        try
        {
            return StrictUtf8.GetString(bytes, count);
        }
        catch (DecoderFallbackException)
        {
            throw Fault($"{what} at byte {Position - count} is not valid UTF-8.", item);
        }
    }

    /// <summary>Moves to <paramref name="offset"/> (at or after the current position, at most the end of the file).</summary>
    public void SkipTo(long offset) => Position = offset;

    public ModelFormatException Fault(string detail, string? item) => new(path, detail, item);

    private byte* Take(int count, string what, string? item)
    {
        if (count > Remaining)
            throw Fault($"file ended at byte {length} while reading {what} (at byte {Position}, {count} bytes).", item);
        byte* at = start + Position;
        Position += count;
        return at;
    }
}
