using OlmoeSharp.Loading;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Model;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Checkpoints;

/// <summary>
/// A model to convert, opened read-only and memory-mapped: a Hugging Face folder (config.json, safetensors,
/// tokenizer.json) or a GGUF file, with its config and its tensors under their Hugging Face names.
/// </summary>
internal sealed class ModelSource : IDisposable
{
    private ModelSource(string path, OlmoeConfig config, ICheckpointTensors tensors, GgufFile? gguf)
    {
        Path = path;
        Config = config;
        Tensors = tensors;
        Gguf = gguf;
    }

    /// <summary>The folder or file.</summary>
    public string Path { get; }

    public OlmoeConfig Config { get; }

    public ICheckpointTensors Tensors { get; }

    /// <summary>The GGUF file, when the source is one (its metadata holds the tokenizer).</summary>
    public GgufFile? Gguf { get; }

    /// <summary>The folder's tokenizer.json, when the source is a folder that has one.</summary>
    public string? TokenizerJson =>
        Gguf is null && File.Exists(System.IO.Path.Combine(Path, OlmoeTokenizer.FileName)) ? System.IO.Path.Combine(Path, OlmoeTokenizer.FileName) : null;

    /// <summary>A short name for the model: the GGUF's general.name, or the folder's or file's name.</summary>
    public string Name => Gguf is not null && Gguf.TryGet<string>("general.name", out var name) && name.Length > 0
        ? name
        : System.IO.Path.GetFileNameWithoutExtension(System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(Path)));

    /// <exception cref="ModelFormatException">A file is malformed or not an OLMoE model.</exception>
    /// <exception cref="FileNotFoundException">The folder has no config.json or weights.</exception>
    public static ModelSource Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OlmoeModel.IsGgufFile(path))
        {
            var gguf = GgufCheckpoint.Open(path);
            return new ModelSource(path, gguf.Config, gguf, gguf.File);
        }
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{path}: model folder (or .gguf file) not found.");
        var config = OlmoeConfig.Load(System.IO.Path.Combine(path, "config.json"));
        return new ModelSource(path, config, CheckpointFiles.Open(path), null);
    }

    public void Dispose() => Tensors.Dispose();
}
