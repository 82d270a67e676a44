using System.Buffers.Binary;
using System.Numerics;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>Everything a GGUF header declares, validated against the file it came from.</summary>
/// <param name="Version">Format version (2 or 3).</param>
/// <param name="Alignment">Alignment of the data section and of every tensor in it.</param>
/// <param name="DataOffset">Offset of the data section in the file.</param>
/// <param name="MetadataKeys">The metadata keys in file order.</param>
/// <param name="Metadata">The metadata values by key.</param>
/// <param name="Tensors">The tensors in file order.</param>
internal sealed record GgufHeader(
    uint Version, int Alignment, long DataOffset, IReadOnlyList<string> MetadataKeys,
    IReadOnlyDictionary<string, GgufValue> Metadata, IReadOnlyList<GgufTensor> Tensors)
{
    /// <summary>The key that sets the data alignment; without it the alignment is <see cref="GgufFile.DefaultAlignment"/>.</summary>
    public const string AlignmentKey = "general.alignment";

    /// <summary>Smallest possible file: magic, version, tensor count, metadata count.</summary>
    public const int MinimumFileBytes = 4 + 4 + 8 + 8;

    /// <summary>Smallest metadata entry: key length, a one-byte key, value type, a one-byte value.</summary>
    private const int MinimumEntryBytes = 8 + 1 + 4 + 1;

    /// <summary>Smallest tensor info: name length, a one-byte name, n_dims, one dimension, type, offset.</summary>
    private const int MinimumTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;

    private const int MaxDimensions = 4;

    /// <summary>Parses and validates the header of a file of <paramref name="fileLength"/> bytes.</summary>
    public static GgufHeader Parse(GgufCursor cursor, long fileLength)
    {
        uint magic = cursor.ReadUInt32("the magic", null);
        if (magic != 0x46554747) // "GGUF" read little-endian
            throw cursor.Fault($"magic is 0x{magic:X8}, not \"GGUF\": not a GGUF file.", null);
        uint version = ReadVersion(cursor);
        ulong tensorCount = cursor.ReadUInt64("the tensor count", null);
        ulong entryCount = cursor.ReadUInt64("the metadata count", null);
        // Counts are bounded by the bytes that could hold them, so a lying count fails here rather than allocating or looping.
        if (entryCount > (ulong)(cursor.Remaining / MinimumEntryBytes))
            throw cursor.Fault($"metadata count {entryCount} cannot fit in the {cursor.Remaining} bytes left in the file.", null);
        if (tensorCount > (ulong)(cursor.Remaining / MinimumTensorInfoBytes))
            throw cursor.Fault($"tensor count {tensorCount} cannot fit in the {cursor.Remaining} bytes left in the file.", null);

        var keys = new List<string>((int)entryCount);
        var metadata = new Dictionary<string, GgufValue>((int)entryCount, StringComparer.Ordinal);
        for (int i = 0; i < (int)entryCount; i++)
        {
            string key = cursor.ReadString("a metadata key", $"metadata entry {i}");
            if (key.Length == 0) throw cursor.Fault("metadata key is empty.", $"metadata entry {i}");
            var value = GgufValueReader.Read(cursor, key);
            if (!metadata.TryAdd(key, value)) throw cursor.Fault("metadata key appears twice.", key);
            keys.Add(key);
        }
        int alignment = ReadAlignment(metadata, cursor);

        if (tensorCount > (ulong)(cursor.Remaining / MinimumTensorInfoBytes))
            throw cursor.Fault($"tensor count {tensorCount} cannot fit in the {cursor.Remaining} bytes left after the metadata.", null);
        var infos = new List<(GgufTensor Tensor, ulong Offset)>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < (int)tensorCount; i++)
        {
            var info = ReadTensorInfo(cursor, i);
            if (!names.Add(info.Tensor.Name)) throw cursor.Fault("tensor is declared twice.", info.Tensor.Name);
            infos.Add(info);
        }

        long dataOffset = AlignUp(cursor.Position, alignment);
        if (dataOffset > fileLength)
        {
            if (infos.Count > 0)
                throw cursor.Fault($"the data section would start at byte {dataOffset}, past the end of the file ({fileLength} bytes).", null);
            dataOffset = fileLength;
        }
        var tensors = PlaceTensors(infos, alignment, fileLength - dataOffset, cursor);
        return new GgufHeader(version, alignment, dataOffset, keys, metadata, tensors);
    }

    private static uint ReadVersion(GgufCursor cursor)
    {
        uint version = cursor.ReadUInt32("the version", null);
        if (version is 2 or 3) return version;
        uint swapped = BinaryPrimitives.ReverseEndianness(version);
        if (swapped is 2 or 3)
            throw cursor.Fault($"big-endian GGUF (version {swapped}) is not supported; only little-endian files are.", null);
        if (version == 1)
            throw cursor.Fault("GGUF version 1 (32-bit lengths) is not supported; only versions 2 and 3 are.", null);
        throw cursor.Fault($"GGUF version {version} is not supported; only versions 2 and 3 are.", null);
    }

    private static int ReadAlignment(Dictionary<string, GgufValue> metadata, GgufCursor cursor)
    {
        if (!metadata.TryGetValue(AlignmentKey, out var value)) return GgufFile.DefaultAlignment;
        if (value.Value is not uint alignment)
            throw cursor.Fault($"is {value.TypeName}, not uint32.", AlignmentKey);
        if (alignment == 0 || !BitOperations.IsPow2(alignment) || alignment > GgufFile.MaxAlignment)
            throw cursor.Fault($"alignment {alignment} is not a power of two between 1 and {GgufFile.MaxAlignment}.", AlignmentKey);
        return (int)alignment;
    }

    private static (GgufTensor Tensor, ulong Offset) ReadTensorInfo(GgufCursor cursor, int index)
    {
        string name = cursor.ReadString("a tensor name", $"tensor {index}");
        if (name.Length == 0) throw cursor.Fault("tensor name is empty.", $"tensor {index}");
        uint rank = cursor.ReadUInt32("the number of dimensions", name);
        if (rank is 0 or > MaxDimensions)
            throw cursor.Fault($"has {rank} dimensions; between 1 and {MaxDimensions} are allowed.", name);
        var dimensions = new long[rank];
        long elements = 1;
        for (int d = 0; d < rank; d++)
        {
            ulong size = cursor.ReadUInt64($"dimension {d}", name);
            if (size == 0 || size > long.MaxValue)
                throw cursor.Fault($"dimension {d} is {size}; it must be between 1 and {long.MaxValue}.", name);
            dimensions[d] = (long)size;
            if (elements > long.MaxValue / (long)size)
                throw cursor.Fault($"element count of dimensions [{string.Join(", ", dimensions[..(d + 1)])}] overflows 64 bits.", name);
            elements *= (long)size;
        }
        uint typeId = cursor.ReadUInt32("the tensor type", name);
        if (!GgmlTypeLayout.TryGet(typeId, out var type, out int blockSize, out int blockBytes))
            throw cursor.Fault($"ggml type {typeId} is not supported; supported: {GgmlTypeLayout.SupportedList}.", name);
        if (dimensions[0] % blockSize != 0)
            throw cursor.Fault($"row length {dimensions[0]} is not a multiple of {type}'s block size {blockSize}.", name);
        long blocks = elements / blockSize;
        if (blocks > long.MaxValue / blockBytes)
            throw cursor.Fault($"{elements} elements of {type} take more than {long.MaxValue} bytes.", name);
        ulong offset = cursor.ReadUInt64("the tensor offset", name);
        return (new GgufTensor(name, type, dimensions, 0, blocks * blockBytes), offset);
    }

    private static List<GgufTensor> PlaceTensors(List<(GgufTensor Tensor, ulong Offset)> infos, int alignment, long dataLength, GgufCursor cursor)
    {
        var tensors = new List<GgufTensor>(infos.Count);
        foreach (var (tensor, offset) in infos)
        {
            if (offset % (ulong)alignment != 0)
                throw cursor.Fault($"offset {offset} is not a multiple of the alignment {alignment}.", tensor.Name);
            if (offset > (ulong)dataLength || tensor.ByteLength > dataLength - (long)offset)
                throw cursor.Fault($"bytes {offset}..{offset + (ulong)tensor.ByteLength} of the data section reach past the end of the data ({dataLength} bytes).", tensor.Name);
            tensors.Add(tensor with { DataStart = (long)offset });
        }
        // Overlap is checked in offset order so it costs a sort, not a comparison of every pair.
        GgufTensor? previous = null;
        foreach (var tensor in tensors.OrderBy(t => t.DataStart))
        {
            if (previous is not null && tensor.DataStart < previous.DataStart + previous.ByteLength)
                throw cursor.Fault($"bytes from {tensor.DataStart} overlap those of tensor '{previous.Name}' (up to {previous.DataStart + previous.ByteLength}).", tensor.Name);
            previous = tensor;
        }
        return tensors;
    }

    private static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;
}
