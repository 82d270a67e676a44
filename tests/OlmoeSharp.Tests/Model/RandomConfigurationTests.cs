using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tests.Reference;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// The engine against the double-precision reference on random checkpoints covering the variants the golden set
/// lacks: GQA, MQA, norm_topk_prob, clip_qkv, tied embeddings, other rope_theta, fused experts, F16/F32, several shards.
/// Tolerance: 1e-3 max abs per logit (as for the golden data) and the same argmax on every row.
/// </summary>
public sealed class RandomConfigurationTests
{
    private const double Tolerance = 1e-3;

    private static readonly OlmoeConfig Base = RandomCheckpoint.Tiny with { VocabSize = 1024, EosTokenIds = [1023], PadTokenId = 1 };

    public static TheoryData<string> Variants() => new(VariantTable.Keys);

    private static readonly Dictionary<string, (OlmoeConfig Config, RandomCheckpointOptions Options)> VariantTable = new()
    {
        ["gqa-normtopk-f32-3shards"] = (Base with { NumKeyValueHeads = 2, NormTopKProb = true },
            new RandomCheckpointOptions { DType = TensorDType.F32, Shards = 3, Seed = 11 }),
        ["mqa-clip-tied"] = (Base with { NumKeyValueHeads = 1, ClipQkv = 0.8f, TieWordEmbeddings = true },
            new RandomCheckpointOptions { Seed = 12 }),
        ["fused-experts-theta"] = (Base with { RopeTheta = 500000f, NumExperts = 6, NumExpertsPerToken = 3 },
            new RandomCheckpointOptions { FusedExperts = true, Seed = 13 }),
        ["f16-wide-heads"] = (Base with { HiddenSize = 96, NumAttentionHeads = 2, NumKeyValueHeads = 2, IntermediateSize = 40, NumHiddenLayers = 3 },
            new RandomCheckpointOptions { DType = TensorDType.F16, Seed = 14, Shards = 2 }),
        ["top1-of-4"] = (Base with { NumExperts = 4, NumExpertsPerToken = 1, NumHiddenLayers = 1 },
            new RandomCheckpointOptions { Seed = 15 }),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Engine_matches_the_double_precision_reference(string variant)
    {
        var (config, options) = VariantTable[variant];
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, config, options);
        int[] tokens = [5, 900, 17, 1023, 0, 333, 42, 42, 7, 512, 1, 64];

        var expected = new ReferenceOlmoe(dir.Path).Forward(tokens);
        using var model = OlmoeModel.Load(dir.Path);
        var logits = new float[tokens.Length * config.VocabSize];
        model.CreateSession().Evaluate(tokens, logits);

        for (int t = 0; t < tokens.Length; t++)
        {
            var row = logits.AsSpan(t * config.VocabSize, config.VocabSize);
            double maxAbs = 0;
            for (int i = 0; i < row.Length; i++) maxAbs = Math.Max(maxAbs, Math.Abs(row[i] - expected[t][i]));
            Assert.True(maxAbs <= Tolerance, $"{variant} row {t}: max abs {maxAbs}");
            Assert.Equal(Array.IndexOf(expected[t], expected[t].Max()), System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row));
        }
    }

    [Fact]
    public void Incremental_logits_equal_full_sequence_logits()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Base with { NumKeyValueHeads = 2 }, new RandomCheckpointOptions { Seed = 21 });
        using var model = OlmoeModel.Load(dir.Path);
        int vocab = model.Config.VocabSize;
        int[] tokens = [3, 14, 15, 92, 65, 35, 89, 79];

        var all = new float[tokens.Length * vocab];
        model.CreateSession().Evaluate(tokens, all);

        var session = model.CreateSession();
        var row = new float[vocab];
        for (int t = 0; t < tokens.Length; t++)
        {
            session.Evaluate(tokens.AsSpan(t, 1), row);
            Assert.Equal(all.AsSpan(t * vocab, vocab).ToArray(), row);
        }
    }
}
