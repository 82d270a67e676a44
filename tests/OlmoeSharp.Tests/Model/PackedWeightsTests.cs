using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tests.Reference;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// Models loaded with <see cref="WeightResidency.Packed"/> against the double-precision reference and against the
/// same checkpoint mapped. The golden checkpoints' rows (64 and 32 values) are too short to pack, so these use
/// random checkpoints whose rows are multiples of 128 — all of them, or only some (then the rest stay mapped).
/// Tolerances as elsewhere: 1e-3 max abs per logit against the reference with the same argmax; 1e-4 between
/// packed and mapped, and between prefill and token-by-token (packing is lossless: only summation order differs).
/// </summary>
public sealed class PackedWeightsTests
{
    private static readonly OlmoeConfig Wide = RandomCheckpoint.Tiny with
    {
        HiddenSize = 128, IntermediateSize = 128, VocabSize = 1024, EosTokenIds = [1023], PadTokenId = 1,
    };

    private static readonly Dictionary<string, (OlmoeConfig Config, RandomCheckpointOptions Options)> VariantTable = new()
    {
        ["all-packed"] = (Wide, new RandomCheckpointOptions { Seed = 31 }),
        ["fused-experts-gqa"] = (Wide with { NumKeyValueHeads = 2, NumExperts = 6, NumExpertsPerToken = 3 },
            new RandomCheckpointOptions { FusedExperts = true, Seed = 32, Shards = 2 }),
        ["tied-short-expert-rows"] = (Wide with { TieWordEmbeddings = true, IntermediateSize = 64 },
            new RandomCheckpointOptions { Seed = 33 }),
    };

    public static TheoryData<string> Variants() => new(VariantTable.Keys);

    private static readonly int[] Tokens = [5, 900, 17, 1023, 0, 333, 42, 42, 7, 512, 1, 64];

    [Theory]
    [MemberData(nameof(Variants))]
    public void Packed_weights_match_the_reference_and_the_mapped_model(string variant)
    {
        var (config, options) = VariantTable[variant];
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, config, options);
        var expected = new ReferenceOlmoe(dir.Path).Forward(Tokens);
        using var packed = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed });
        using var mapped = OlmoeModel.Load(dir.Path);
        Assert.True(packed.BytesPerDecodedToken < 0.85 * mapped.BytesPerDecodedToken,
            $"{variant}: packed reads {packed.BytesPerDecodedToken} bytes per token, mapped {mapped.BytesPerDecodedToken}");

        int vocab = config.VocabSize;
        var packedLogits = new float[Tokens.Length * vocab];
        var mappedLogits = new float[Tokens.Length * vocab];
        packed.CreateSession().Evaluate(Tokens, packedLogits);
        mapped.CreateSession().Evaluate(Tokens, mappedLogits);
        for (int t = 0; t < Tokens.Length; t++)
        {
            var row = packedLogits.AsSpan(t * vocab, vocab);
            double fromReference = 0, fromMapped = 0;
            for (int i = 0; i < vocab; i++)
            {
                fromReference = Math.Max(fromReference, Math.Abs(row[i] - expected[t][i]));
                fromMapped = Math.Max(fromMapped, Math.Abs(row[i] - mappedLogits[t * vocab + i]));
            }
            Assert.True(fromReference <= 1e-3, $"{variant} row {t}: max abs {fromReference} from the reference");
            Assert.True(fromMapped <= 1e-4, $"{variant} row {t}: max abs {fromMapped} from the mapped model");
            Assert.Equal(Array.IndexOf(expected[t], expected[t].Max()), System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row));
        }
    }

    [Fact]
    public void Packed_prefill_equals_token_by_token_decoding()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Wide, new RandomCheckpointOptions { Seed = 34 });
        using var model = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed });
        int vocab = model.Config.VocabSize;
        var random = new Random(6);
        int[] tokens = Enumerable.Range(0, 70).Select(_ => random.Next(vocab)).ToArray();

        var all = new float[tokens.Length * vocab];
        model.CreateSession().Evaluate(tokens, all);
        var session = model.CreateSession();
        var row = new float[vocab];
        for (int t = 0; t < tokens.Length; t++)
        {
            session.Evaluate(tokens.AsSpan(t, 1), row);
            float maxAbs = 0;
            for (int i = 0; i < vocab; i++) maxAbs = Math.Max(maxAbs, Math.Abs(all[t * vocab + i] - row[i]));
            Assert.True(maxAbs <= 1e-4f, $"position {t}: prefill vs decode max abs {maxAbs}");
        }
    }

    [Fact]
    public void Decoding_with_packed_weights_allocates_nothing()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Wide, new RandomCheckpointOptions { Seed = 35 });
        using var model = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed });
        var session = model.CreateSession();
        var logits = new float[model.Config.VocabSize];
        int[] token = [42];
        SteadyState.AssertAllocatesNothing(() => session.Evaluate(token, logits), session.Reset);
    }

    [Fact]
    public void A_float32_checkpoint_is_served_mapped()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Wide, new RandomCheckpointOptions { DType = TensorDType.F32, Seed = 36 });
        using var packed = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed });
        using var mapped = OlmoeModel.Load(dir.Path);
        Assert.Equal(mapped.BytesPerDecodedToken, packed.BytesPerDecodedToken);
        var a = new float[Wide.VocabSize];
        var b = new float[Wide.VocabSize];
        packed.CreateSession().Evaluate(Tokens, a);
        mapped.CreateSession().Evaluate(Tokens, b);
        Assert.Equal(b, a);
    }
}
