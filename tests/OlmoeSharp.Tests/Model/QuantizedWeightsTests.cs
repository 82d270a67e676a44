using OlmoeSharp.Tensors.Formats;
using OlmoeSharp.Tests.Checkpoints;

namespace OlmoeSharp.Tests.Model;

/// <summary>
/// Quantizing at load (<see cref="WeightResidency.Q8_0"/>, <see cref="WeightResidency.Q4_0"/>,
/// <see cref="WeightResidency.Q4_K"/>, <c>--weights q8_0|q4_0|q4_k</c>) against quantizing to a file and loading
/// that packed: the same types, the same bytes, laid out the same way, hence exactly the same logits.
/// </summary>
public sealed class QuantizedWeightsTests(QuantizableModelFixture model) : IClassFixture<QuantizableModelFixture>
{
    [Theory]
    [InlineData(WeightResidency.Q8_0, GgufFileType.Q8_0)]
    [InlineData(WeightResidency.Q4_0, GgufFileType.Q4_0)]
    [InlineData(WeightResidency.Q4_K, GgufFileType.Q4_K_M)]
    public void Quantizing_at_load_computes_exactly_what_the_quantized_file_does(WeightResidency residency, GgufFileType fileType)
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.gguf");
        GgufExport.Write(model.Directory, path, new GgufExportOptions { FileType = fileType });
        using var atLoad = OlmoeModel.Load(model.Directory, new ModelLoadOptions { Residency = residency });
        // Packed re-lays the file's Q4_K, Q6_K and Q4_0 matrices where the interleaved kernels run, as quantizing at load
        // does (the same values, summed in another order than the stored layout's kernels); elsewhere both keep them as stored.
        using var fromFile = OlmoeModel.Load(path, new ModelLoadOptions { Residency = WeightResidency.Packed, MeasurePackedSpeed = false });
        Assert.Equal(residency, atLoad.Residency);
        Assert.StartsWith($"{residency.ToString().ToLowerInvariant()}: as requested", atLoad.ResidencyChoice);
        Assert.Equal(fromFile.BytesPerDecodedToken, atLoad.BytesPerDecodedToken);
        foreach (bool tokenByToken in new[] { false, true })
            Assert.Equal(QuantizableModel.Logits(fromFile, tokenByToken), QuantizableModel.Logits(atLoad, tokenByToken));

        // The embedding table is quantized too; the router is float32, as in the file; norms are as they were.
        var weights = atLoad.Weights;
        Assert.Equal(fromFile.Weights.Embeddings.Format, weights.Embeddings.Format);
        Assert.IsAssignableFrom<GgmlBlockFormat>(weights.Embeddings.Format);
        Assert.Same(F32Format.Instance, weights.Layers[0].Router.Format);
        Assert.Equal(fromFile.Weights.Layers[1].V.Format, weights.Layers[1].V.Format);
        Assert.Equal(fromFile.Weights.Layers[0].Experts[0].Gate.Format, weights.Layers[0].Experts[0].Gate.Format);
        bool interleaved = weights.Layers[0].Experts[0].Gate.Format is InterleavedFormat;
        Assert.Equal(InterleavedKernels.HasVectorKernel && residency != WeightResidency.Q8_0, interleaved);
        Assert.Equal(interleaved, atLoad.ResidencyChoice.Contains("re-laid 16 rows at a time"));
    }

    [Fact]
    public void A_quantized_file_is_served_as_stored()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.gguf");
        GgufExport.Write(model.Directory, path, new GgufExportOptions { FileType = GgufFileType.Q4_0 });
        using var requested = OlmoeModel.Load(path, new ModelLoadOptions { Residency = WeightResidency.Q4_K });
        Assert.Equal(WeightResidency.Mapped, requested.Residency);
        Assert.Contains("already quantized", requested.ResidencyChoice);
        Assert.Equal(QuantizableModel.Logits(path), QuantizableModel.Logits(requested));
    }

    [Fact]
    public void A_tied_head_is_quantized_once_at_the_head_s_type()
    {
        using var dir = new TempDirectory();
        QuantizableModel.Write(dir.Path, QuantizableModel.Config with { TieWordEmbeddings = true });
        using var tied = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Residency = WeightResidency.Q4_0 });
        // llama.cpp's rule for a table that is both: the output's type, Q6_K in a Q4_0 mix.
        Assert.Same(Q6_KFormat.Instance, tied.Weights.LmHead.Format);
        Assert.Equal(tied.Weights.LmHead, tied.Weights.Embeddings);
        var error = QuantizableModel.RelativeRms(QuantizableModel.Logits(tied), QuantizableModel.Logits(dir.Path));
        Assert.InRange(error, 0.001, 6 * 0.0884);
    }

    [Fact]
    public void Decoding_with_weights_quantized_at_load_allocates_nothing()
    {
        using var quantized = OlmoeModel.Load(model.Directory, new ModelLoadOptions { Residency = WeightResidency.Q4_K });
        var session = quantized.CreateSession();
        var logits = new float[quantized.Config.VocabSize];
        int[] token = [42];
        SteadyState.AssertAllocatesNothing(() => session.Evaluate(token, logits), session.Reset);
    }
}
