using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace OlmoeSharp.Tests.Hostile;

/// <summary>
/// A safetensors file taken apart into its regions — the 8-byte little-endian header length, the JSON header, the
/// data — so tests and the fuzzer can break each region precisely and put the file back together.
/// </summary>
internal sealed record SafeTensorsBytes(byte[] Header, byte[] Data)
{
    /// <summary>Size of the header-length prefix.</summary>
    public const int PrefixBytes = 8;

    /// <summary>Offset of the first data byte in the file.</summary>
    public int DataStart => PrefixBytes + Header.Length;

    /// <summary>Splits a well-formed file.</summary>
    public static SafeTensorsBytes Split(byte[] file)
    {
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        return new SafeTensorsBytes(file[PrefixBytes..(PrefixBytes + headerLength)], file[(PrefixBytes + headerLength)..]);
    }

    /// <summary>The header as an editable JSON object.</summary>
    public JsonObject HeaderJson() => JsonNode.Parse(Header)!.AsObject();

    /// <summary>The header as text (for edits JSON objects cannot express, such as duplicate keys).</summary>
    public string HeaderText() => Encoding.UTF8.GetString(Header);

    /// <summary>A file of <paramref name="header"/> and <paramref name="data"/>; the prefix tells the truth unless <paramref name="declaredLength"/> is given.</summary>
    public static byte[] Compose(ReadOnlySpan<byte> header, ReadOnlySpan<byte> data, ulong? declaredLength = null)
    {
        var file = new byte[PrefixBytes + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)header.Length);
        header.CopyTo(file.AsSpan(PrefixBytes));
        data.CopyTo(file.AsSpan(PrefixBytes + header.Length));
        return file;
    }

    /// <summary>This file with another header (its length prefix adjusted to match).</summary>
    public byte[] WithHeader(ReadOnlySpan<byte> header) => Compose(header, Data);

    /// <summary>This file with another header (its length prefix adjusted to match).</summary>
    public byte[] WithHeader(JsonObject header) => WithHeader(Encoding.UTF8.GetBytes(header.ToJsonString()));

    /// <summary>This file with another header (its length prefix adjusted to match).</summary>
    public byte[] WithHeader(string header) => WithHeader(Encoding.UTF8.GetBytes(header));

    /// <summary>The file as it was.</summary>
    public byte[] ToFile() => Compose(Header, Data);
}
