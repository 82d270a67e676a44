using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// An OLMoE model in one GGUF file: its config (<see cref="GgufConfigReader"/>) and its tensors under their Hugging
/// Face names, so <see cref="WeightBinding"/> binds it as it binds a safetensors folder. Every matrix is a view into
/// the mapping in the tensor's own ggml type. GGUF lists dimensions innermost first, so an HF shape [rows, cols] is
/// dimensions [cols, rows]; the experts of a layer are one tensor per projection, [cols, rows, experts], and expert
/// e is its e-th slab of rows.
/// </summary>
internal sealed class GgufCheckpoint : ICheckpointTensors
{
    private readonly Dictionary<string, (string Tensor, int Expert)> _byHuggingFaceName;

    private GgufCheckpoint(GgufFile file, OlmoeConfig config)
    {
        File = file;
        Config = config;
        _byHuggingFaceName = NameMap(config);
    }

    /// <summary>The mapped file (its metadata also holds the tokenizer).</summary>
    public GgufFile File { get; }

    public OlmoeConfig Config { get; }

    public long DataBytes => File.DataLength;

    public int FileCount => 1;

    /// <summary>Opens and validates the file and reads its config.</summary>
    /// <exception cref="ModelFormatException">The file is malformed or not an OLMoE model.</exception>
    public static GgufCheckpoint Open(string path)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new GgufCheckpoint(file, GgufConfigReader.Read(file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public bool Contains(string name) =>
        _byHuggingFaceName.TryGetValue(name, out var target) && File.TryGetTensor(target.Tensor, out _);

    public unsafe WeightMatrix Matrix(string name, params ReadOnlySpan<long> expectedShape)
    {
        if (!_byHuggingFaceName.TryGetValue(name, out var target))
            throw new ModelFormatException(File.FilePath, "is not a tensor of an OLMoE model.", name);
        var tensor = File.GetTensor(target.Tensor);
        // The expected GGUF dimensions: the HF shape reversed, plus the expert count outermost for a stacked tensor.
        var expected = new List<long>(expectedShape.Length + 1);
        for (int i = expectedShape.Length - 1; i >= 0; i--) expected.Add(expectedShape[i]);
        if (target.Expert >= 0) expected.Add(Config.NumExperts);
        if (!tensor.Dimensions.SequenceEqual(expected))
            throw new ModelFormatException(File.FilePath, $"dimensions are {tensor.ShapeText}; the config requires [{string.Join(", ", expected)}].", tensor.Name);
        long cols = expected[0];
        long rows = tensor.ElementCount / Math.Max(cols, 1);
        if (rows > int.MaxValue || cols > int.MaxValue)
            throw new ModelFormatException(File.FilePath, $"dimensions {tensor.ShapeText} are too large.", tensor.Name);
        var format = GgmlTypeLayout.Format(tensor.Type);
        if (!format.CanStore((int)cols))
            throw new ModelFormatException(File.FilePath, $"rows of {cols} values cannot be stored as {tensor.Type}.", tensor.Name);
        var matrix = new WeightMatrix(format, File.DataPointer(tensor), (int)rows, (int)cols);
        if (target.Expert < 0) return matrix;
        int expertRows = (int)expectedShape[0];
        return matrix.Slice(target.Expert * expertRows, expertRows);
    }

    public void Dispose() => File.Dispose();

    /// <summary>HF name → (GGUF tensor, expert slab or −1), for every tensor of a model of this config.</summary>
    private static Dictionary<string, (string, int)> NameMap(OlmoeConfig config)
    {
        var map = new Dictionary<string, (string, int)>(StringComparer.Ordinal)
        {
            [TensorNames.Embeddings] = (GgufTensorNames.Of(TensorKind.TokenEmbedding), -1),
            [TensorNames.FinalNorm] = (GgufTensorNames.Of(TensorKind.OutputNorm), -1),
            [TensorNames.LmHead] = (GgufTensorNames.Of(TensorKind.Output), -1),
        };
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            map[TensorNames.InputNorm(l)] = (GgufTensorNames.Of(TensorKind.AttentionNorm, l), -1);
            map[TensorNames.QProj(l)] = (GgufTensorNames.Of(TensorKind.AttentionQ, l), -1);
            map[TensorNames.KProj(l)] = (GgufTensorNames.Of(TensorKind.AttentionK, l), -1);
            map[TensorNames.VProj(l)] = (GgufTensorNames.Of(TensorKind.AttentionV, l), -1);
            map[TensorNames.OProj(l)] = (GgufTensorNames.Of(TensorKind.AttentionOutput, l), -1);
            map[TensorNames.QNorm(l)] = (GgufTensorNames.Of(TensorKind.AttentionQNorm, l), -1);
            map[TensorNames.KNorm(l)] = (GgufTensorNames.Of(TensorKind.AttentionKNorm, l), -1);
            map[TensorNames.PostAttentionNorm(l)] = (GgufTensorNames.Of(TensorKind.FfnNorm, l), -1);
            map[TensorNames.Router(l)] = (GgufTensorNames.Of(TensorKind.Router, l), -1);
            for (int e = 0; e < config.NumExperts; e++)
            {
                map[TensorNames.ExpertGate(l, e)] = (GgufTensorNames.Of(TensorKind.ExpertGate, l), e);
                map[TensorNames.ExpertUp(l, e)] = (GgufTensorNames.Of(TensorKind.ExpertUp, l), e);
                map[TensorNames.ExpertDown(l, e)] = (GgufTensorNames.Of(TensorKind.ExpertDown, l), e);
            }
        }
        return map;
    }
}
