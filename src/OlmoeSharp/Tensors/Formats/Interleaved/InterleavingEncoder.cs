namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Re-lays the quantized matrices of a GGUF file sixteen rows at a time (<see cref="InterleavedFormat"/>): Q4_K,
/// Q6_K and Q4_0 matrices whose rows are a multiple of 16 and columns of 256; the others stay as stored.
/// </summary>
internal sealed unsafe class InterleavingEncoder : WeightEncoder
{
    public static readonly InterleavingEncoder Instance = new();

    private static readonly InterleavedFormat[] s_formats = [Q4_KInterleavedFormat.Instance, Q6_KInterleavedFormat.Instance, Q4_0InterleavedFormat.Instance];

    private InterleavingEncoder() { }

    public override string Name => "interleaved-x16";

    /// <summary>The kernels run in AVX-512BW or AVX2 + FMA registers; elsewhere they would be slower than the stored ones.</summary>
    public override bool HasVectorDecoder => InterleavedKernels.HasVectorKernel;

    public override string DecoderName => InterleavedKernels.KernelName;

    public override string Encoding => "Q4_K, Q6_K and Q4_0 rows interleaved 16 at a time, the same values";

    public override string SourceName => "the stored kernel";

    /// <summary>The interleaved form of matrices stored in <paramref name="stored"/>, if it has one.</summary>
    public static InterleavedFormat? FormatFor(WeightFormat stored) => Array.Find(s_formats, f => f.Source == stored);

    private static InterleavedFormat? TargetOf(in WeightMatrix source)
    {
        foreach (var format in s_formats)
            if (format.CanInterleave(source)) return format;
        return null;
    }

    public override bool CanEncode(in WeightMatrix source) => TargetOf(source) != null;

    public override long EncodedBytes(in WeightMatrix source, int alignment) =>
        (source.Rows * TargetOf(source)!.RowBytes(source.Cols) + alignment - 1) / alignment * alignment;

    public override WeightMatrix Encode(in WeightMatrix source, byte* target, int alignment)
    {
        var format = TargetOf(source)!;
        format.Interleave(source, target);
        return new WeightMatrix(format, target, source.Rows, source.Cols);
    }
}
