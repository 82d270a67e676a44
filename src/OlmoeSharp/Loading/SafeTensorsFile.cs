using System.Buffers.Binary;
using OlmoeSharp.IO;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>
/// A safetensors file, memory-mapped read-only. The header is parsed and validated up front — every tensor's byte span
/// lies inside the data section, matches dtype × shape and overlaps no other — so a tensor is afterwards a view into
/// the mapping with no copy and no way to read outside the file.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the format's own reference implementation uses the same limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly WeightStorage _storage;
    private bool _disposed;

    private SafeTensorsFile(string path, WeightStorage storage, long dataLength,
        IReadOnlyDictionary<string, TensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        _storage = storage;
        DataLength = dataLength;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>Every tensor in the file by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>The optional string-to-string <c>__metadata__</c> of the header.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>Opens and validates a safetensors file, then maps it (or, for <see cref="WeightResidency.Preloaded"/>, reads its data into memory).</summary>
    /// <exception cref="ModelFormatException">The header is malformed or describes data outside the file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path, WeightResidency residency = WeightResidency.Mapped)
    {
        // Sized before it is opened: a FIFO or a device reports size 0, and opening one could block forever.
        var info = UntrustedFile.Inspect(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: safetensors file not found.", path);
        if (info.Length < 8) throw new ModelFormatException(path, $"file is {info.Length} bytes, too short for a safetensors header.");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.RandomAccess);
        try
        {
            long length = stream.Length;
            if (length < 8) throw new ModelFormatException(path, $"file is {length} bytes, too short for a safetensors header.");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(stream, prefix, 0, path);
            long headerLength = BinaryPrimitives.ReadInt64LittleEndian(prefix);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > length - 8)
                throw new ModelFormatException(path, $"header length {(ulong)headerLength} is impossible for a file of {length} bytes (limit {MaxHeaderBytes}).");
            var header = new byte[headerLength];
            ReadExactly(stream, header, 8, path);
            long dataOffset = 8 + headerLength, dataLength = length - dataOffset;
            var (tensors, metadata) = SafeTensorsHeader.Parse(header, dataLength, path);
            var storage = residency == WeightResidency.Preloaded
                ? WeightStorage.Preload(stream.SafeFileHandle, path, dataOffset, dataLength)
                : WeightStorage.Map(stream, dataOffset);
            // A mapping keeps the file open itself; a preloaded copy needs it no more.
            if (residency == WeightResidency.Preloaded) stream.Dispose();
            return new SafeTensorsFile(path, storage, dataLength, tensors, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static void ReadExactly(FileStream stream, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            int got = RandomAccess.Read(stream.SafeFileHandle, buffer, offset);
            if (got <= 0) throw new ModelFormatException(path, $"file ended at byte {offset} inside the header.");
            buffer = buffer[got..];
            offset += got;
        }
    }

    /// <summary>The bytes of <paramref name="tensor"/>, a view into the mapping valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(TensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Tensors.TryGetValue(tensor.Name, out var own) || own != tensor)
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to {FilePath}.", nameof(tensor));
        long size = tensor.DataEnd - tensor.DataStart;
        if (size > int.MaxValue) throw new NotSupportedException($"tensor '{tensor.Name}' is larger than a span can hold; use the matrix view.");
        return new ReadOnlySpan<byte>(_storage.Base + _storage.DataOffset + tensor.DataStart, (int)size);
    }

    /// <summary>Address of the first byte of a tensor of this file (validated at open time).</summary>
    internal byte* DataPointer(TensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _storage.Base + _storage.DataOffset + tensor.DataStart;
    }

    /// <summary>Unmaps (or frees) the file's data; views handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _storage.Dispose();
    }
}
