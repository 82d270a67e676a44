using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Tests.Hostile.Weights;

/// <summary>
/// Well-formed safetensors files whose tensors do not fit the model: element types the kernels cannot compute with,
/// shapes that disagree with config.json (transposed, flattened, 1-D for 2-D, one off), missing tensors, and the
/// fused expert layout gone wrong. Each must be refused naming the weights file and the tensor.
/// </summary>
public sealed class WeightBindingTests
{
    private const string Weights = HostileCheckpoint.Weights;

    private static readonly RandomCheckpointOptions Fused = new() { FusedExperts = true };

    public static TheoryData<string> TensorChangeNames() => new(TensorChanges.Keys);

    /// <summary>One tensor of the file changed: (fused layout?, tensor, change).</summary>
    private static readonly Dictionary<string, (bool Fused, string Tensor, Func<StoredTensor, StoredTensor> Change)> TensorChanges = new()
    {
        ["I64 attention weight"] = (false, TensorNames.QProj(0), t => t.Reshaped(TensorDType.I64, 64, 64)),
        ["I8 norm"] = (false, TensorNames.InputNorm(0), t => t.Reshaped(TensorDType.I8, 64)),
        ["F64 embeddings"] = (false, TensorNames.Embeddings, t => t.Reshaped(TensorDType.F64, 256, 64)),
        ["BOOL router"] = (false, TensorNames.Router(1), t => t.Reshaped(TensorDType.Bool, 8, 64)),
        ["U8 expert"] = (false, TensorNames.ExpertDown(1, 7), t => t.Reshaped(TensorDType.U8, 64, 32)),
        ["F8 LM head"] = (false, TensorNames.LmHead, t => t.Reshaped(TensorDType.F8E4M3, 256, 64)),
        ["I32 fused experts"] = (true, TensorNames.FusedGateUp(0), t => t.Reshaped(TensorDType.I32, 8, 64, 64)),
        ["matrix one column short"] = (false, TensorNames.QProj(0), t => t.Reshaped(64, 63)),
        ["matrix one row long"] = (false, TensorNames.OProj(1), t => t.Reshaped(65, 64)),
        ["expert gate transposed"] = (false, TensorNames.ExpertGate(0, 3), t => t.Reshaped(64, 32)),
        ["expert down transposed"] = (false, TensorNames.ExpertDown(1, 0), t => t.Reshaped(32, 64)),
        ["matrix flattened to 1-D"] = (false, TensorNames.VProj(0), t => t.Reshaped(64 * 64)),
        ["matrix given a third axis"] = (false, TensorNames.KProj(1), t => t.Reshaped(1, 64, 64)),
        ["norm as a row"] = (false, TensorNames.PostAttentionNorm(0), t => t.Reshaped(1, 64)),
        ["norm as a column"] = (false, TensorNames.QNorm(1), t => t.Reshaped(64, 1)),
        ["norm as a scalar"] = (false, TensorNames.FinalNorm, t => t.Reshaped()),
        ["norm one long"] = (false, TensorNames.KNorm(0), t => t.Reshaped(65)),
        ["embeddings one row short"] = (false, TensorNames.Embeddings, t => t.Reshaped(255, 64)),
        ["router with too few experts"] = (false, TensorNames.Router(0), t => t.Reshaped(7, 64)),
        ["LM head too wide"] = (false, TensorNames.LmHead, t => t.Reshaped(256, 65)),
        ["fused gate_up without the factor two"] = (true, TensorNames.FusedGateUp(1), t => t.Reshaped(8, 32, 64)),
        ["fused gate_up flattened to 2-D"] = (true, TensorNames.FusedGateUp(0), t => t.Reshaped(8 * 64, 64)),
        ["fused gate_up one expert short"] = (true, TensorNames.FusedGateUp(0), t => t.Reshaped(7, 64, 64)),
        ["fused down transposed"] = (true, TensorNames.FusedDown(1), t => t.Reshaped(8, 32, 64)),
        ["fused down flattened"] = (true, TensorNames.FusedDown(0), t => t.Reshaped(8 * 64 * 32)),
    };

    [Theory]
    [MemberData(nameof(TensorChangeNames))]
    public void A_tensor_that_does_not_fit_the_model_is_refused(string change)
    {
        var (fused, tensor, edit) = TensorChanges[change];
        using var checkpoint = new HostileCheckpoint(fused ? Fused : null);
        checkpoint.RewriteTensor(Weights, tensor, edit);
        HostileAssert.Rejects(checkpoint, Weights, tensor);
    }

    [Theory]
    [InlineData(false, "model.embed_tokens.weight")]
    [InlineData(false, "model.layers.1.self_attn.k_norm.weight")]
    [InlineData(false, "model.layers.1.mlp.experts.7.up_proj.weight")]
    [InlineData(false, "model.layers.0.mlp.gate.weight")]
    [InlineData(false, "lm_head.weight")]
    [InlineData(false, "model.norm.weight")]
    [InlineData(true, "model.layers.1.mlp.experts.down_proj")]
    public void A_missing_tensor_is_named(bool fused, string tensor)
    {
        using var checkpoint = new HostileCheckpoint(fused ? Fused : null);
        checkpoint.RewriteTensors(Weights, tensors => tensors.Where(t => t.Name != tensor));
        Assert.Contains("missing", HostileAssert.Rejects(checkpoint, Weights, tensor).Message);
    }

    public static TheoryData<string> ConfigChangeNames() => new(ConfigChanges.Keys);

    /// <summary>A config that is valid on its own but disagrees with the (untouched) weights: (change, tensor that shows it).</summary>
    private static readonly Dictionary<string, (Func<OlmoeConfig, OlmoeConfig> Change, string Tensor)> ConfigChanges = new()
    {
        ["more layers than the file"] = (c => c with { NumHiddenLayers = 3 }, TensorNames.InputNorm(2)),
        ["larger vocabulary"] = (c => c with { VocabSize = 512 }, TensorNames.Embeddings),
        ["smaller vocabulary"] = (c => c with { VocabSize = 128, EosTokenIds = [127] }, TensorNames.Embeddings),
        ["wider hidden state"] = (c => c with { HiddenSize = 128 }, TensorNames.Embeddings),
        ["narrower experts"] = (c => c with { IntermediateSize = 16 }, TensorNames.ExpertGate(0, 0)),
        ["more experts"] = (c => c with { NumExperts = 16 }, TensorNames.Router(0)),
        ["grouped-query attention"] = (c => c with { NumKeyValueHeads = 2 }, TensorNames.KProj(0)),
        ["untied head missing"] = (c => c with { TieWordEmbeddings = false }, TensorNames.LmHead),
    };

    [Theory]
    [MemberData(nameof(ConfigChangeNames))]
    public void Shapes_that_disagree_with_the_config_are_refused(string change)
    {
        var (edit, tensor) = ConfigChanges[change];
        // The last case needs a file written without an LM head: written tied, then declared untied.
        var written = change == "untied head missing" ? HostileCheckpoint.TinyConfig with { TieWordEmbeddings = true } : HostileCheckpoint.TinyConfig;
        using var checkpoint = new HostileCheckpoint(config: written);
        checkpoint.WriteText(HostileCheckpoint.ConfigFile, edit(written).ToJson());
        HostileAssert.Rejects(checkpoint, Weights, tensor);
    }
}
