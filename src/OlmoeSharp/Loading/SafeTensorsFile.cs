using System.IO.MemoryMappedFiles;
using System.Text.Json;
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

    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _dataOffset;
    private bool _disposed;

    private SafeTensorsFile(string path, MemoryMappedFile mapping, MemoryMappedViewAccessor view, byte* basePointer,
        long dataOffset, long dataLength, IReadOnlyDictionary<string, TensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        FilePath = path;
        _mapping = mapping;
        _view = view;
        _base = basePointer;
        _dataOffset = dataOffset;
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

    /// <summary>Opens, maps and validates a safetensors file.</summary>
    /// <exception cref="ModelFormatException">The header is malformed or describes data outside the file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsFile Open(string path)
    {
        // Sized before it is opened: a FIFO or a device reports size 0, and opening one could block forever.
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: safetensors file not found.", path);
        if (info.Length < 8) throw new ModelFormatException(path, $"file is {info.Length} bytes, too short for a safetensors header.");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.RandomAccess);
        MemoryMappedFile? mapping = null;
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            long length = stream.Length;
            if (length < 8) throw new ModelFormatException(path, $"file is {length} bytes, too short for a safetensors header.");
            mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* basePointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            acquired = true;
            basePointer += view.PointerOffset;

            // The header is read from the mapping itself, so what is validated is exactly what is later used.
            long headerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(basePointer, 8));
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > length - 8)
                throw new ModelFormatException(path, $"header length {(ulong)headerLength} is impossible for a file of {length} bytes (limit {MaxHeaderBytes}).");
            var header = new ReadOnlySpan<byte>(basePointer + 8, (int)headerLength);
            long dataLength = length - 8 - headerLength;
            var (tensors, metadata) = SafeTensorsHeader.Parse(header, dataLength, path);
            return new SafeTensorsFile(path, mapping, view, basePointer, 8 + headerLength, dataLength, tensors, metadata);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            if (mapping is not null) mapping.Dispose(); else stream.Dispose();
            throw;
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
        return new ReadOnlySpan<byte>(_base + _dataOffset + tensor.DataStart, (int)size);
    }

    /// <summary>Address of the first byte of a tensor of this file (validated at open time).</summary>
    internal byte* DataPointer(TensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + _dataOffset + tensor.DataStart;
    }

    /// <summary>Unmaps the file; views handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }
}
