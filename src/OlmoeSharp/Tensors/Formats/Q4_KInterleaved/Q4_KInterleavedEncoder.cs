namespace OlmoeSharp.Tensors.Formats;

/// <summary>Re-lays Q4_K matrices whose rows are a multiple of 16 sixteen rows at a time (<see cref="Q4_KInterleaved"/>).</summary>
internal sealed unsafe class Q4_KInterleavedEncoder : WeightEncoder
{
    public static readonly Q4_KInterleavedEncoder Instance = new();

    private Q4_KInterleavedEncoder() { }

    public override string Name => Q4_KInterleavedFormat.Instance.Name;

    public override bool HasVectorDecoder => Q4_KInterleavedKernels.HasVectorKernel;

    public override string DecoderName => Q4_KInterleavedKernels.KernelName;

    public override string Encoding => "Q4_K rows interleaved 16 at a time, the same values";

    public override string SourceName => "q4_k";

    public override bool CanEncode(in WeightMatrix source) =>
        source.Format == Q4_KFormat.Instance && Q4_KInterleaved.CanInterleave(source.Rows, source.Cols);

    public override long EncodedBytes(in WeightMatrix source, int alignment) =>
        (source.Rows * Q4_KInterleaved.RowBytes(source.Cols) + alignment - 1) / alignment * alignment;

    public override WeightMatrix Encode(in WeightMatrix source, byte* target, int alignment)
    {
        Q4_KInterleaved.Interleave(source, target);
        return new WeightMatrix(Q4_KInterleavedFormat.Instance, target, source.Rows, source.Cols);
    }
}
