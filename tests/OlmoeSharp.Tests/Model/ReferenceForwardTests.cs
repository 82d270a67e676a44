using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tests.Reference;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// The engine against the double-precision reference on random checkpoints covering the variants the golden set
/// lacks: GQA, MQA, norm_topk_prob, clip_qkv, tied embeddings, other rope_theta, fused experts, F16/F32, several shards,
/// and packed weights.
/// Tolerance: 1e-3 max abs per logit (as for the golden data) and the same argmax on every row.
/// </summary>
public sealed class ReferenceForwardTests
{
    private const double Tolerance = 1e-3;

    private static readonly OlmoeConfig Base = RandomCheckpoint.Tiny with { VocabSize = 1024, EosTokenIds = [1023], PadTokenId = 1 };

    public static TheoryData<string> Variants() => new(VariantTable.Keys);

    /// <summary>Rows of 128 values, long enough to pack (<see cref="WeightResidency.Packed"/>).</summary>
    internal static readonly OlmoeConfig Wide = Base with { HiddenSize = 128, IntermediateSize = 128 };

    private static readonly Dictionary<string, (OlmoeConfig Config, RandomCheckpointOptions Options, WeightResidency Residency)> VariantTable = new()
    {
        ["gqa-normtopk-f32-3shards"] = (Base with { NumKeyValueHeads = 2, NormTopKProb = true },
            new RandomCheckpointOptions { DType = TensorDType.F32, Shards = 3, Seed = 11 }, WeightResidency.Mapped),
        ["mqa-clip-tied"] = (Base with { NumKeyValueHeads = 1, ClipQkv = 0.8f, TieWordEmbeddings = true },
            new RandomCheckpointOptions { Seed = 12 }, WeightResidency.Mapped),
        ["fused-experts-theta"] = (Base with { RopeTheta = 500000f, NumExperts = 6, NumExpertsPerToken = 3 },
            new RandomCheckpointOptions { FusedExperts = true, Seed = 13 }, WeightResidency.Mapped),
        ["f16-wide-heads"] = (Base with { HiddenSize = 96, NumAttentionHeads = 2, NumKeyValueHeads = 2, IntermediateSize = 40, NumHiddenLayers = 3 },
            new RandomCheckpointOptions { DType = TensorDType.F16, Seed = 14, Shards = 2 }, WeightResidency.Mapped),
        ["top1-of-4"] = (Base with { NumExperts = 4, NumExpertsPerToken = 1, NumHiddenLayers = 1 },
            new RandomCheckpointOptions { Seed = 15 }, WeightResidency.Mapped),
        ["packed"] = (Wide, new RandomCheckpointOptions { Seed = 31 }, WeightResidency.Packed),
        ["packed-fused-experts-gqa"] = (Wide with { NumKeyValueHeads = 2, NumExperts = 6, NumExpertsPerToken = 3 },
            new RandomCheckpointOptions { FusedExperts = true, Seed = 32, Shards = 2 }, WeightResidency.Packed),
        ["packed-tied-short-expert-rows"] = (Wide with { TieWordEmbeddings = true, IntermediateSize = 64 },
            new RandomCheckpointOptions { Seed = 33 }, WeightResidency.Packed),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Engine_matches_the_double_precision_reference(string variant)
    {
        var (config, options, residency) = VariantTable[variant];
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, config, options);
        int[] tokens = [5, 900, 17, 1023, 0, 333, 42, 42, 7, 512, 1, 64];

        var expected = new ReferenceOlmoe(dir.Path).Forward(tokens);
        using var model = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = residency, MeasurePackedSpeed = false });
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

    /// <summary>
    /// A prompt processed as one block (batched projections, experts grouped by token) gives the same logits as the
    /// same tokens fed one at a time through the KV cache, within 1e-4 max abs, across a block boundary too; with
    /// packed weights the block decodes rows for the GEMM while single tokens decode in the mat-vec kernel.
    /// </summary>
    [Theory]
    [InlineData(8, WeightResidency.Mapped)]
    [InlineData(300, WeightResidency.Mapped)]
    [InlineData(70, WeightResidency.Packed)]
    public void Prefill_logits_equal_token_by_token_logits(int length, WeightResidency residency)
    {
        using var dir = new TempDirectory();
        var config = residency == WeightResidency.Packed ? Wide : Base;
        RandomCheckpoint.Write(dir.Path, config with { NumKeyValueHeads = 2 }, new RandomCheckpointOptions { Seed = 21 });
        using var model = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = residency, MeasurePackedSpeed = false });
        int vocab = model.Config.VocabSize;
        var random = new Random(5);
        int[] tokens = Enumerable.Range(0, length).Select(_ => random.Next(vocab)).ToArray();

        var all = new float[tokens.Length * vocab];
        model.CreateSession().Evaluate(tokens, all);

        var session = model.CreateSession();
        var row = new float[vocab];
        for (int t = 0; t < tokens.Length; t++)
        {
            session.Evaluate(tokens.AsSpan(t, 1), row);
            var prefillRow = all.AsSpan(t * vocab, vocab);
            float maxAbs = 0;
            for (int i = 0; i < vocab; i++) maxAbs = Math.Max(maxAbs, Math.Abs(prefillRow[i] - row[i]));
            Assert.True(maxAbs <= 1e-4f, $"position {t}: prefill vs decode max abs {maxAbs}");
        }
    }

    /// <summary>
    /// A bf16 KV cache gives the float32 cache's logits up to the rounding of keys and values: within 2% of the
    /// largest logit (bf16 keeps 8 significant bits), in prefill and in decode, same argmax on rows whose top two
    /// logits are that far apart.
    /// </summary>
    [Fact]
    public void A_bf16_kv_cache_stays_within_its_rounding_of_the_float32_one()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Base, new RandomCheckpointOptions { Seed = 23 });
        using var exact = OlmoeModel.Load(dir.Path);
        using var rounded = OlmoeModel.Load(dir.Path, new ModelLoadOptions { KvCache = KvCachePrecision.BFloat16 });
        Assert.Equal(KvCachePrecision.BFloat16, rounded.KvCachePrecision);
        int vocab = Base.VocabSize;
        int[] prompt = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12, 400, 401, 402, 999];
        var a = new float[prompt.Length * vocab];
        var b = new float[prompt.Length * vocab];
        var sa = exact.CreateSession();
        var sb = rounded.CreateSession();
        sa.Evaluate(prompt, a);
        sb.Evaluate(prompt, b);
        for (int step = 0; step < 2; step++)
        {
            float max = a.Max(Math.Abs), worst = 0;
            for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
            Assert.True(worst > 0, "the bf16 cache must actually round");
            Assert.True(worst <= 0.02f * max, $"step {step}: max abs difference {worst} against largest logit {max}");
            // Then one decoded token through each cache.
            a = new float[vocab];
            b = new float[vocab];
            sa.Evaluate([77], a);
            sb.Evaluate([77], b);
        }
    }

    /// <summary>Prefill followed by decode continues exactly as decoding the whole sequence does.</summary>
    [Fact]
    public void Prefill_then_decode_matches_decode_throughout()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Base, new RandomCheckpointOptions { Seed = 22 });
        using var model = OlmoeModel.Load(dir.Path);
        int vocab = model.Config.VocabSize;
        int[] prompt = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12];

        var batched = model.CreateSession();
        var stepwise = model.CreateSession();
        var a = new float[vocab];
        var b = new float[vocab];
        batched.Evaluate(prompt, a);
        foreach (int token in prompt) stepwise.Evaluate([token], b);
        for (int step = 0; step < 10; step++)
        {
            int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(a);
            Assert.Equal(next, System.Numerics.Tensors.TensorPrimitives.IndexOfMax(b));
            batched.Evaluate([next], a);
            stepwise.Evaluate([next], b);
        }
        for (int i = 0; i < vocab; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4f);
    }
}
