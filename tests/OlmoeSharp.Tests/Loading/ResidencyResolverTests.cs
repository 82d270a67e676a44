using OlmoeSharp.Loading;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Loading;

/// <summary>How a requested residency resolves against the CPU's packed decoder and the memory available, and that a model reports it.</summary>
public sealed class ResidencyResolverTests
{
    private const long Gb = 1_000_000_000;

    [Theory]
    [InlineData(WeightResidency.Auto, true, 11 * Gb, 20 * Gb, WeightResidency.Packed, "auto → packed")]
    [InlineData(WeightResidency.Auto, true, 11 * Gb, 20 * Gb, WeightResidency.Mapped, "measured only 0.80×", 0.8)]
    [InlineData(WeightResidency.Packed, true, 11 * Gb, 20 * Gb, WeightResidency.Mapped, "measured only 0.80×", 0.8)]
    [InlineData(WeightResidency.Auto, true, 11 * Gb, 12 * Gb, WeightResidency.Mapped, "would not fit")]
    [InlineData(WeightResidency.Auto, false, 11 * Gb, 20 * Gb, WeightResidency.Mapped, "no vector decoder")]
    [InlineData(WeightResidency.Auto, true, 0, 20 * Gb, WeightResidency.Mapped, "no matrix can be packed")]
    [InlineData(WeightResidency.Packed, false, 11 * Gb, 20 * Gb, WeightResidency.Mapped, "no vector decoder")]
    [InlineData(WeightResidency.Packed, true, 0, 20 * Gb, WeightResidency.Mapped, "no matrix can be packed")]
    [InlineData(WeightResidency.Packed, true, 11 * Gb, 1 * Gb, WeightResidency.Packed, "as requested")] // an explicit request is honoured
    [InlineData(WeightResidency.Mapped, true, 11 * Gb, 20 * Gb, WeightResidency.Mapped, "as requested")]
    [InlineData(WeightResidency.Preloaded, false, 11 * Gb, 20 * Gb, WeightResidency.Preloaded, "as requested")]
    public void Resolves_to_the_fastest_residency_that_fits(WeightResidency requested, bool vectorDecoder, long packedBytes, long available,
        WeightResidency expected, string reasonPart, double speedup = 1.3)
    {
        var (residency, reason) = ResidencyResolver.Resolve(requested, vectorDecoder, "avx2", packedBytes, available, speedup);
        Assert.Equal(expected, residency);
        Assert.Contains(reasonPart, reason);
    }

    [Fact]
    public void Auto_with_unknown_memory_still_packs_where_the_decoder_is_fast()
    {
        var (residency, _) = ResidencyResolver.Resolve(WeightResidency.Auto, true, "avx2", 11 * Gb, null, null);
        Assert.Equal(WeightResidency.Packed, residency);
    }

    [Fact]
    public void The_probe_measures_both_kernels()
    {
        var values = new ushort[256 * 256];
        var random = new Random(4);
        for (int i = 0; i < values.Length; i++) values[i] = OlmoeSharp.Tensors.BFloat16Kernels.FromSingle((float)random.NextDouble() - 0.5f);
        unsafe
        {
            fixed (ushort* p = values)
            {
                var (stored, encoded) = EncodingProbe.Measure(new OlmoeSharp.Tensors.WeightMatrix(Bf16Format.Instance, (byte*)p, 256, 256), WeightFormats.PackedBf16);
                Assert.InRange(stored, 1e6, 1e13); // weights per second: positive and finite
                Assert.InRange(encoded, 1e6, 1e13);
            }
        }
    }

    [Fact]
    public void Available_memory_is_read_on_this_machine()
    {
        long? available = ResidencyResolver.AvailableMemory();
        Assert.NotNull(available);
        Assert.InRange(available!.Value, 1L << 26, 1L << 50);
    }

    [Fact]
    public void A_model_loaded_with_the_default_options_says_what_it_chose()
    {
        using var dir = new TempDirectory();
        // Rows of 128 values can be packed; a few MB fit anywhere.
        RandomCheckpoint.Write(dir.Path, RandomCheckpoint.Tiny with { HiddenSize = 128, IntermediateSize = 128, VocabSize = 1024, EosTokenIds = [1023], PadTokenId = 1 });
        using var model = OlmoeModel.Load(dir.Path);
        // Packed or mapped depends on this CPU's measured kernels; either way the line names the choice.
        Assert.NotEqual(WeightResidency.Auto, model.Residency);
        Assert.StartsWith("auto → " + model.Residency.ToString().ToLowerInvariant(), model.ResidencyChoice);
        if (!WeightFormats.PackedBf16.HasVectorDecoder) Assert.Equal(WeightResidency.Mapped, model.Residency);
    }

    [Fact]
    public void Quantized_residencies_are_honoured_where_there_is_something_to_quantize()
    {
        foreach (var residency in new[] { WeightResidency.Q8_0, WeightResidency.Q4_0, WeightResidency.Q4_K })
        {
            Assert.True(ResidencyResolver.IsQuantized(residency));
            var (chosen, reason) = ResidencyResolver.ResolveQuantized(residency, 13_800_000_000, 4_200_000_000);
            Assert.Equal(residency, chosen);
            Assert.Contains("13.80 GB → 4.20 GB", reason);
            var (mapped, why) = ResidencyResolver.ResolveQuantized(residency, 0, 0);
            Assert.Equal(WeightResidency.Mapped, mapped);
            Assert.Contains("already quantized", why);
        }
        Assert.Equal(GgufFileType.Q4_K_M, ResidencyResolver.FileTypeOf(WeightResidency.Q4_K));
        Assert.False(ResidencyResolver.IsQuantized(WeightResidency.Packed));
        Assert.False(ResidencyResolver.IsQuantized(WeightResidency.Auto));
    }
}
