namespace OlmoeSharp.Tensors.Formats;

/// <summary>Packs bf16 matrices whose rows are a multiple of 128 values: payload, then the base plane, each aligned.</summary>
internal sealed unsafe class PackedBf16Encoder : WeightEncoder
{
    public static readonly PackedBf16Encoder Instance = new();

    private PackedBf16Encoder() { }

    public override string Name => "packed-bf16";

    public override bool HasVectorDecoder => PackedBf16Kernels.HasVectorDecoder;

    public override string DecoderName => PackedBf16Kernels.DecoderName;

    public override string Encoding => "12.5 bits per weight";

    public override string SourceName => "bf16";

    public override bool CanEncode(in WeightMatrix source) => source.Format == Bf16Format.Instance && PackedBf16.CanPack(source.Cols);

    public override long EncodedBytes(in WeightMatrix source, int alignment) =>
        Align(PayloadBytes(source), alignment) + Align(BaseBytes(source), alignment);

    public override WeightMatrix Encode(in WeightMatrix source, byte* target, int alignment)
    {
        byte* payload = target, bases = target + Align(PayloadBytes(source), alignment);
        var corrections = new WeightCorrections.Builder();
        PackedBf16.Pack((ushort*)source.Data, source.Rows, source.Cols, payload, bases, corrections);
        return PackedBf16Format.Matrix(payload, bases, corrections.Build(), source.Rows, source.Cols);
    }

    private static long PayloadBytes(in WeightMatrix m) => m.Rows * PackedBf16.RowBytes(m.Cols);

    private static long BaseBytes(in WeightMatrix m) => (long)m.Rows * PackedBf16.BaseBytesPerRow(m.Cols);

    private static long Align(long bytes, int alignment) => (bytes + alignment - 1) / alignment * alignment;
}
