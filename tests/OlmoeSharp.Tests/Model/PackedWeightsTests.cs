using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// Models loaded with <see cref="WeightResidency.Packed"/> against the same checkpoint mapped (the comparison with
/// the double-precision reference is in <see cref="ReferenceForwardTests"/>). The golden checkpoints' rows (64
/// and 32 values) are too short to pack, so these use random checkpoints whose rows are multiples of 128.
/// Tolerance 1e-4 max abs per logit between packed and mapped: packing is lossless, only the order of float32 sums
/// differs.
/// </summary>
public sealed class PackedWeightsTests
{
    private static readonly OlmoeConfig Wide = ReferenceForwardTests.Wide;

    private static readonly int[] Tokens = [5, 900, 17, 1023, 0, 333, 42, 42, 7, 512, 1, 64];

    [FactWhen(typeof(PackedBf16Kernels), nameof(PackedBf16Kernels.HasVectorDecoder), "without a vector decoder packed weights are served mapped")]
    public void Packed_and_mapped_models_agree_and_packed_reads_a_fifth_fewer_bytes()
    {
        foreach (var (config, fused) in new[] { (Wide, false), (Wide with { NumKeyValueHeads = 2, NumExperts = 6, NumExpertsPerToken = 3 }, true) })
        {
            using var dir = new TempDirectory();
            RandomCheckpoint.Write(dir.Path, config, new RandomCheckpointOptions { FusedExperts = fused, Seed = 37 });
            using var packed = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed, MeasurePackedSpeed = false });
            using var mapped = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Mapped });
            // Every matrix read per token is packed: 12.5 bits per weight, plus a few corrections.
            double ratio = (double)packed.BytesPerDecodedToken / mapped.BytesPerDecodedToken;
            Assert.InRange(ratio, 12.5 / 16, 12.5 / 16 + 0.01);

            var a = new float[Tokens.Length * config.VocabSize];
            var b = new float[Tokens.Length * config.VocabSize];
            packed.CreateSession().Evaluate(Tokens, a);
            mapped.CreateSession().Evaluate(Tokens, b);
            float maxAbs = 0;
            for (int i = 0; i < a.Length; i++) maxAbs = Math.Max(maxAbs, Math.Abs(a[i] - b[i]));
            Assert.True(maxAbs <= 1e-4f, $"fused={fused}: packed vs mapped max abs {maxAbs}");
        }
    }

    [Fact]
    public void Decoding_with_packed_weights_allocates_nothing()
    {
        using var dir = new TempDirectory();
        RandomCheckpoint.Write(dir.Path, Wide, new RandomCheckpointOptions { Seed = 35 });
        using var model = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed, MeasurePackedSpeed = false });
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
        using var packed = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Packed, MeasurePackedSpeed = false });
        using var mapped = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Mapped });
        Assert.Equal(WeightResidency.Mapped, packed.Residency);
        Assert.Contains("no matrix can be packed", packed.ResidencyChoice);
        Assert.Equal(mapped.BytesPerDecodedToken, packed.BytesPerDecodedToken);
        var a = new float[Wide.VocabSize];
        var b = new float[Wide.VocabSize];
        packed.CreateSession().Evaluate(Tokens, a);
        mapped.CreateSession().Evaluate(Tokens, b);
        Assert.Equal(b, a);
    }
}
