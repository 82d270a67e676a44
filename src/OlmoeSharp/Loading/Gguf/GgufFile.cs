using OlmoeSharp.IO;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// A GGUF file (llama.cpp's format, versions 2 and 3), memory-mapped read-only. The whole header is parsed and
/// validated up front — metadata, tensor types and shapes, every tensor's bytes inside the data section and
/// overlapping no other — so a tensor is afterwards a view into the mapping with no copy and no way to read outside
/// the file. Every fault is a <see cref="ModelFormatException"/> naming the file and the metadata key or tensor.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    /// <summary>Alignment of the data section when the file sets no <c>general.alignment</c>.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>Largest <c>general.alignment</c> accepted (real files use 32; a page or two is the most that makes sense).</summary>
    public const int MaxAlignment = 1 << 20;

    private readonly WeightStorage _storage;
    private readonly GgufHeader _header;
    private readonly Dictionary<string, GgufTensor> _tensorsByName;
    private bool _disposed;

    private GgufFile(string path, WeightStorage storage, GgufHeader header, long fileLength)
    {
        FilePath = path;
        _storage = storage;
        _header = header;
        DataLength = fileLength - header.DataOffset;
        _tensorsByName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>Format version: 2 or 3.</summary>
    public uint Version => _header.Version;

    /// <summary>Alignment of the data section and of every tensor in it.</summary>
    public int Alignment => _header.Alignment;

    /// <summary>Offset of the data section in the file.</summary>
    public long DataOffset => _header.DataOffset;

    /// <summary>Size of the data section in bytes.</summary>
    public long DataLength { get; }

    /// <summary>The metadata keys in file order.</summary>
    public IReadOnlyList<string> MetadataKeys => _header.MetadataKeys;

    /// <summary>The metadata values by key.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata => _header.Metadata;

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<GgufTensor> Tensors => _header.Tensors;

    /// <summary>Opens, maps and validates a GGUF file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ModelFormatException">The file is not a well-formed GGUF file of a supported version.</exception>
    public static GgufFile Open(string path)
    {
        // Sized before it is opened: a FIFO or a device reports size 0, and opening one could block forever.
        var info = UntrustedFile.Inspect(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: GGUF file not found.", path);
        if (info.Length < GgufHeader.MinimumFileBytes)
            throw new ModelFormatException(path, $"file is {info.Length} bytes, too short for a GGUF header (or not a regular file).");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.RandomAccess);
        WeightStorage? storage = null;
        try
        {
            long length = stream.Length;
            if (length < GgufHeader.MinimumFileBytes)
                throw new ModelFormatException(path, $"file is {length} bytes, too short for a GGUF header.");
            storage = WeightStorage.Map(stream, dataOffset: 0);
            var header = GgufHeader.Parse(new GgufCursor(storage.Base, length, path), length);
            return new GgufFile(path, storage, header, length);
        }
        catch
        {
            // The mapping owns the stream once made; before that the stream is ours to close.
            if (storage is null) stream.Dispose();
            else storage.Dispose();
            throw;
        }
    }

    /// <summary>The tensor named <paramref name="name"/>, or false when the file has none of that name.</summary>
    public bool TryGetTensor(string name, out GgufTensor tensor) => _tensorsByName.TryGetValue(name, out tensor!);

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="ModelFormatException">The file has no tensor of that name.</exception>
    public GgufTensor GetTensor(string name) =>
        _tensorsByName.TryGetValue(name, out var tensor) ? tensor : throw new ModelFormatException(FilePath, "required tensor is missing.", name);

    /// <summary>The bytes of <paramref name="tensor"/>, a view into the mapping valid until this file is disposed.</summary>
    public ReadOnlySpan<byte> GetBytes(GgufTensor tensor)
    {
        byte* data = DataPointer(tensor);
        if (tensor.ByteLength > int.MaxValue) throw new NotSupportedException($"tensor '{tensor.Name}' is larger than a span can hold.");
        return new ReadOnlySpan<byte>(data, (int)tensor.ByteLength);
    }

    /// <summary>Address of the first byte of a tensor of this file (validated at open time).</summary>
    internal byte* DataPointer(GgufTensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_tensorsByName.TryGetValue(tensor.Name, out var own) || own != tensor)
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to {FilePath}.", nameof(tensor));
        return _storage.Base + _header.DataOffset + tensor.DataStart;
    }

    /// <summary>The value of <paramref name="key"/>, or false when the file has no such key.</summary>
    public bool TryGetValue(string key, out GgufValue value) => _header.Metadata.TryGetValue(key, out value!);

    /// <summary>
    /// The value of <paramref name="key"/> as <typeparamref name="T"/>, the .NET type of its GGUF type (see
    /// <see cref="GgufValue"/>: <c>uint</c> for uint32, <c>string[]</c> for an array of strings, …).
    /// </summary>
    /// <exception cref="ModelFormatException">The key is missing, or its value is of another type.</exception>
    public T Get<T>(string key) =>
        TryGet<T>(key, out var value) ? value : throw new ModelFormatException(FilePath, "required metadata key is missing.", key);

    /// <summary>
    /// The value of <paramref name="key"/> as <typeparamref name="T"/>, or false when the key is missing. A key that is
    /// present with a value of another type is a fault of the file, not an absence.
    /// </summary>
    /// <exception cref="ModelFormatException">The key's value is of another type.</exception>
    public bool TryGet<T>(string key, out T value)
    {
        if (!_header.Metadata.TryGetValue(key, out var stored))
        {
            value = default!;
            return false;
        }
        if (stored.Value is not T typed)
            throw new ModelFormatException(FilePath, $"is {stored.TypeName}, not {typeof(T).Name}.", key);
        value = typed;
        return true;
    }

    /// <summary>The string value of <paramref name="key"/>.</summary>
    /// <exception cref="ModelFormatException">The key is missing or not a string.</exception>
    public string GetString(string key) => Get<string>(key);

    /// <summary>The uint32 value of <paramref name="key"/>.</summary>
    /// <exception cref="ModelFormatException">The key is missing or not a uint32.</exception>
    public uint GetUInt32(string key) => Get<uint>(key);

    /// <summary>The float32 value of <paramref name="key"/>.</summary>
    /// <exception cref="ModelFormatException">The key is missing or not a float32.</exception>
    public float GetFloat32(string key) => Get<float>(key);

    /// <summary>The array of <typeparamref name="T"/> stored under <paramref name="key"/>, e.g. <c>GetArray&lt;string&gt;("tokenizer.ggml.tokens")</c>.</summary>
    /// <exception cref="ModelFormatException">The key is missing or not an array of that element type.</exception>
    public T[] GetArray<T>(string key) => Get<T[]>(key);

    /// <summary>Unmaps the file; views handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _storage.Dispose();
    }
}
