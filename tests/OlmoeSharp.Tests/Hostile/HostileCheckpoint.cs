using System.Text;
using System.Text.Json.Nodes;
using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Hostile;

/// <summary>
/// A valid tiny checkpoint (vocab 256, so writing one takes milliseconds) in its own temp folder, with precise ways
/// to break its files. Every hostile test starts from one of these, breaks one thing, and loads.
/// </summary>
internal sealed class HostileCheckpoint : IDisposable
{
    /// <summary>The single weights file.</summary>
    public const string Weights = CheckpointFiles.SingleFileName;

    /// <summary>The config file.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The tokenizer file, loaded with the model when present (the checkpoints written here have none).</summary>
    public const string TokenizerFile = OlmoeTokenizer.FileName;

    /// <summary>The shard index of a sharded checkpoint.</summary>
    public const string Index = SafeTensorsIndex.FileName;

    /// <summary>The config of the checkpoints written here: the tiny preset with a 256-token vocabulary.</summary>
    public static OlmoeConfig TinyConfig { get; } = RandomCheckpoint.Tiny with
    {
        VocabSize = 256, EosTokenIds = [255], PadTokenId = 1, MaxPositionEmbeddings = 64,
    };

    private readonly TempDirectory _directory = new();

    /// <summary>Writes a valid checkpoint of <paramref name="config"/> (default <see cref="TinyConfig"/>) laid out as <paramref name="options"/> say.</summary>
    public HostileCheckpoint(RandomCheckpointOptions? options = null, OlmoeConfig? config = null)
    {
        Config = config ?? TinyConfig;
        RandomCheckpoint.Write(Directory, Config, options);
    }

    /// <summary>The config the checkpoint was written with.</summary>
    public OlmoeConfig Config { get; }

    /// <summary>The checkpoint folder.</summary>
    public string Directory => _directory.Path;

    /// <summary>The shard files the index names, in file-name order (empty for a single-file checkpoint).</summary>
    public IReadOnlyList<string> Shards =>
        File.Exists(PathOf(Index)) ? SafeTensorsIndex.Load(PathOf(Index)).ShardFiles.Order(StringComparer.Ordinal).ToList() : [];

    /// <summary>The shard the index places <paramref name="tensor"/> in.</summary>
    public string ShardOf(string tensor) => SafeTensorsIndex.Load(PathOf(Index)).WeightMap[tensor];

    /// <summary>Full path of a file of the checkpoint.</summary>
    public string PathOf(string fileName) => _directory.File(fileName);

    /// <summary>Loads the checkpoint (one thread: these models are tiny).</summary>
    public OlmoeModel Load() => OlmoeModel.Load(Directory, new ModelLoadOptions { Threads = 1 });

    public byte[] ReadBytes(string fileName) => File.ReadAllBytes(PathOf(fileName));

    public void WriteBytes(string fileName, byte[] content) => File.WriteAllBytes(PathOf(fileName), content);

    public void Delete(string fileName) => File.Delete(PathOf(fileName));

    /// <summary>Cuts a file to its first <paramref name="length"/> bytes.</summary>
    public void Truncate(string fileName, long length)
    {
        using var stream = new FileStream(PathOf(fileName), FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    /// <summary>A safetensors file of the checkpoint, taken apart.</summary>
    public SafeTensorsBytes ReadSafeTensors(string fileName) => SafeTensorsBytes.Split(ReadBytes(fileName));

    /// <summary>Rewrites the header of a safetensors file (the length prefix follows; the data stays).</summary>
    public void EditHeader(string fileName, Action<JsonObject> edit)
    {
        var file = ReadSafeTensors(fileName);
        var header = file.HeaderJson();
        edit(header);
        WriteBytes(fileName, file.WithHeader(header));
    }

    /// <summary>Replaces the header of a safetensors file with raw bytes (the length prefix follows; the data stays).</summary>
    public void ReplaceHeader(string fileName, byte[] header) => WriteBytes(fileName, ReadSafeTensors(fileName).WithHeader(header));

    /// <summary>Replaces the header of a safetensors file with text (the length prefix follows; the data stays).</summary>
    public void ReplaceHeader(string fileName, string header) => ReplaceHeader(fileName, Encoding.UTF8.GetBytes(header));

    /// <summary>Edits the header as text: for changes a JSON object cannot express, such as a key given twice.</summary>
    public void EditHeaderText(string fileName, Func<string, string> edit) =>
        ReplaceHeader(fileName, edit(ReadSafeTensors(fileName).HeaderText()));

    /// <summary>Overwrites the 8-byte header length with <paramref name="declaredLength"/>; nothing else changes.</summary>
    public void SetDeclaredHeaderLength(string fileName, ulong declaredLength)
    {
        var file = ReadSafeTensors(fileName);
        WriteBytes(fileName, SafeTensorsBytes.Compose(file.Header, file.Data, declaredLength));
    }

    /// <summary>Edits a JSON file of the checkpoint (config.json, the index).</summary>
    public void EditJson(string fileName, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(ReadBytes(fileName))!.AsObject();
        edit(json);
        WriteText(fileName, json.ToJsonString());
    }

    public void WriteText(string fileName, string content) => File.WriteAllText(PathOf(fileName), content);

    /// <summary>
    /// Rewrites a safetensors file through <paramref name="rewrite"/>, which sees the tensors in data order and returns
    /// the ones to write (changed, dropped, added): a well-formed file whose content disagrees with the model.
    /// </summary>
    public void RewriteTensors(string fileName, Func<List<StoredTensor>, IEnumerable<StoredTensor>> rewrite)
    {
        var tensors = rewrite(StoredTensor.ReadAll(PathOf(fileName))).Select(t => t.ToWrite()).ToList();
        SafeTensorsWriter.Write(PathOf(fileName), tensors);
    }

    /// <summary>Replaces the tensor called <paramref name="name"/> (which must exist) by what <paramref name="change"/> makes of it.</summary>
    public void RewriteTensor(string fileName, string name, Func<StoredTensor, StoredTensor> change) =>
        RewriteTensors(fileName, tensors =>
        {
            Assert.Contains(tensors, t => t.Name == name);
            return tensors.Select(t => t.Name == name ? change(t) : t);
        });

    public void Dispose() => _directory.Dispose();
}
