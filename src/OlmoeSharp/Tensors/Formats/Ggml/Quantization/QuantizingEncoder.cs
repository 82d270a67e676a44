namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Re-encodes float matrices (bf16, f16, f32) into another stored format at load — a ggml block type, or float32 —
/// row by row: each row widened to float32 and written by the target's <see cref="RowQuantizer"/>, so the copy holds
/// exactly the bytes a GGUF file quantized the same way would (<see cref="Checkpoints.GgufExport"/>). Matrices
/// already in the target format, or stored in a quantized one, are left as they are.
/// </summary>
internal sealed unsafe class QuantizingEncoder : WeightEncoder
{
    private static readonly Dictionary<WeightFormat, QuantizingEncoder> s_byTarget = [];

    private readonly RowQuantizer _quantizer;

    private QuantizingEncoder(RowQuantizer quantizer) => _quantizer = quantizer;

    /// <summary>The encoder writing <paramref name="target"/> (one instance per format).</summary>
    public static QuantizingEncoder For(WeightFormat target)
    {
        lock (s_byTarget)
        {
            if (!s_byTarget.TryGetValue(target, out var encoder)) s_byTarget[target] = encoder = new QuantizingEncoder(RowQuantizers.For(target));
            return encoder;
        }
    }

    /// <summary>The format written.</summary>
    public WeightFormat Target => _quantizer.Format;

    public override string Name => Target.Name;

    /// <summary>The target formats' kernels are chosen per CPU by the formats themselves; there is no decoder to lack.</summary>
    public override bool HasVectorDecoder => true;

    public override string DecoderName => Target.Name;

    public override string Encoding => $"quantized to {Target.Name}";

    public override string SourceName => "bf16, f16 or f32";

    public override bool CanEncode(in WeightMatrix source) =>
        source.Format is Bf16Format or F16Format or F32Format && source.Format != Target && Target.CanStore(source.Cols);

    public override long EncodedBytes(in WeightMatrix source, int alignment) =>
        (source.Rows * Target.RowBytes(source.Cols) + alignment - 1) / alignment * alignment;

    public override WeightMatrix Encode(in WeightMatrix source, byte* target, int alignment)
    {
        int cols = source.Cols;
        long rowBytes = Target.RowBytes(cols);
        var row = new float[cols];
        fixed (float* x = row)
        {
            for (int r = 0; r < source.Rows; r++)
            {
                source.Format.WidenRow(source, r, x);
                _quantizer.QuantizeRow(x, target + r * rowBytes, cols);
            }
        }
        return new WeightMatrix(Target, target, source.Rows, cols);
    }
}
