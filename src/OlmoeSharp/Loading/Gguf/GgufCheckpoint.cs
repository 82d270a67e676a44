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
            [TensorNames.Embeddings] = ("token_embd.weight", -1),
            [TensorNames.FinalNorm] = ("output_norm.weight", -1),
            [TensorNames.LmHead] = ("output.weight", -1),
        };
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            string block = $"blk.{l}.";
            map[TensorNames.InputNorm(l)] = (block + "attn_norm.weight", -1);
            map[TensorNames.QProj(l)] = (block + "attn_q.weight", -1);
            map[TensorNames.KProj(l)] = (block + "attn_k.weight", -1);
            map[TensorNames.VProj(l)] = (block + "attn_v.weight", -1);
            map[TensorNames.OProj(l)] = (block + "attn_output.weight", -1);
            map[TensorNames.QNorm(l)] = (block + "attn_q_norm.weight", -1);
            map[TensorNames.KNorm(l)] = (block + "attn_k_norm.weight", -1);
            map[TensorNames.PostAttentionNorm(l)] = (block + "ffn_norm.weight", -1);
            map[TensorNames.Router(l)] = (block + "ffn_gate_inp.weight", -1);
            for (int e = 0; e < config.NumExperts; e++)
            {
                map[TensorNames.ExpertGate(l, e)] = (block + "ffn_gate_exps.weight", e);
                map[TensorNames.ExpertUp(l, e)] = (block + "ffn_up_exps.weight", e);
                map[TensorNames.ExpertDown(l, e)] = (block + "ffn_down_exps.weight", e);
            }
        }
        return map;
    }
}
