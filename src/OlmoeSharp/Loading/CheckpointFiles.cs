using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Loading;

/// <summary>
/// The safetensors files of one checkpoint folder — a single <c>model.safetensors</c> or the shards named by
/// <c>model.safetensors.index.json</c> — opened together, with tensors looked up by name across them.
/// </summary>
internal sealed class CheckpointFiles : ICheckpointTensors
{
    public const string SingleFileName = "model.safetensors";

    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, SafeTensorsFile> _owner;

    /// <summary>The file that lists the tensors (the index, or the single file): the one at fault when a tensor is missing.</summary>
    private readonly string _catalogPath;

    private CheckpointFiles(List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> owner, string catalogPath)
    {
        _files = files;
        _owner = owner;
        _catalogPath = catalogPath;
    }

    public IReadOnlyList<SafeTensorsFile> Files => _files;

    public long DataBytes => _files.Sum(f => f.DataLength);

    public int FileCount => _files.Count;

    public static CheckpointFiles Open(string directory, WeightResidency residency = WeightResidency.Mapped,
        Action<string, int, int>? onFileOpened = null, CancellationToken cancellationToken = default)
    {
        string indexPath = Path.Combine(directory, SafeTensorsIndex.FileName);
        string singlePath = Path.Combine(directory, SingleFileName);
        var files = new List<SafeTensorsFile>();
        var owner = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        string catalogPath;
        try
        {
            if (File.Exists(indexPath))
            {
                catalogPath = indexPath;
                var index = SafeTensorsIndex.Load(indexPath);
                var byShard = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
                var shards = index.ShardFiles;
                foreach (string shard in shards)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    string shardPath = Path.Combine(directory, shard);
                    if (!File.Exists(shardPath))
                        throw new ModelFormatException(indexPath, $"names shard \"{shard}\", which is not in {directory}.", shard);
                    var file = SafeTensorsFile.Open(shardPath, residency);
                    files.Add(file);
                    byShard[shard] = file;
                    onFileOpened?.Invoke(shardPath, files.Count, shards.Count);
                }
                foreach (var (tensor, shard) in index.WeightMap)
                {
                    var file = byShard[shard];
                    if (!file.Tensors.ContainsKey(tensor))
                        throw new ModelFormatException(file.FilePath, $"the index places this tensor here, but the shard does not contain it.", tensor);
                    owner[tensor] = file;
                }
            }
            else if (File.Exists(singlePath))
            {
                catalogPath = singlePath;
                var file = SafeTensorsFile.Open(singlePath, residency);
                files.Add(file);
                onFileOpened?.Invoke(singlePath, 1, 1);
                foreach (string tensor in file.Tensors.Keys) owner[tensor] = file;
            }
            else
            {
                throw new FileNotFoundException($"{directory}: no {SingleFileName} or {SafeTensorsIndex.FileName}.", singlePath);
            }
            return new CheckpointFiles(files, owner, catalogPath);
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _owner.ContainsKey(name);

    public unsafe WeightMatrix Matrix(string name, params ReadOnlySpan<long> expectedShape)
    {
        var (file, tensor) = Find(name);
        if (!tensor.Shape.SequenceEqual(expectedShape.ToArray()))
            throw new ModelFormatException(file.FilePath, $"shape is {tensor.ShapeText}; the config requires [{string.Join(", ", expectedShape.ToArray())}].", name);
        if (!WeightFormats.TryGetStored(tensor.DType, out var format))
            throw new ModelFormatException(file.FilePath, $"dtype {tensor.DType.Name()} is not supported for weights; use {WeightFormats.StoredTypeNames}.", name);
        long cols = expectedShape[^1];
        long rows = tensor.ElementCount / Math.Max(cols, 1);
        if (rows > int.MaxValue || cols > int.MaxValue)
            throw new ModelFormatException(file.FilePath, $"shape {tensor.ShapeText} is too large.", name);
        return new WeightMatrix(format, file.DataPointer(tensor), (int)rows, (int)cols);
    }

    private (SafeTensorsFile File, TensorInfo Tensor) Find(string name)
    {
        if (!_owner.TryGetValue(name, out var file))
            throw new ModelFormatException(_catalogPath, "required tensor is missing.", name);
        return (file, file.Tensors[name]);
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
