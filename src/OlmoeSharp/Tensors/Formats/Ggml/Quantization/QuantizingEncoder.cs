namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Re-encodes float matrices (bf16, f16, f32) into another stored format at load — a ggml block type, or float32 —
/// row by row: each row widened to float32 and written by the target's <see cref="RowQuantizer"/>, so the copy holds
/// exactly the bytes a GGUF file quantized the same way would (<see cref="Checkpoints.GgufExport"/>). Matrices
/// already in the target format, or stored in a quantized one, are left as they are. Made with interleaving, the
/// matrices whose type has an interleaved form (<see cref="InterleavingEncoder.FormatFor"/>) are then re-laid sixteen
/// rows at a time, as <c>--weights packed</c> loads such a file: quantized a group at a time into a small buffer,
/// re-laid from there.
/// </summary>
internal sealed unsafe class QuantizingEncoder : WeightEncoder
{
    private static readonly Dictionary<(WeightFormat, bool), QuantizingEncoder> s_byTarget = [];

    private readonly RowQuantizer _quantizer;
    private readonly InterleavedFormat? _interleaved;

    private QuantizingEncoder(RowQuantizer quantizer, bool interleave)
    {
        _quantizer = quantizer;
        _interleaved = interleave ? InterleavingEncoder.FormatFor(quantizer.Format) : null;
    }

    /// <summary>The encoder writing <paramref name="target"/>, re-laid sixteen rows at a time where it can be with <paramref name="interleave"/> (one instance each).</summary>
    public static QuantizingEncoder For(WeightFormat target, bool interleave = false)
    {
        lock (s_byTarget)
        {
            if (!s_byTarget.TryGetValue((target, interleave), out var encoder))
                s_byTarget[(target, interleave)] = encoder = new QuantizingEncoder(RowQuantizers.For(target), interleave);
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

    /// <summary>Whether <paramref name="source"/>'s copy is re-laid sixteen rows at a time.</summary>
    public bool Interleaves(in WeightMatrix source) => InterleavedFor(source) != null;

    /// <summary>The interleaved form <paramref name="source"/> takes, if any: its rows must make whole groups.</summary>
    private InterleavedFormat? InterleavedFor(in WeightMatrix source) =>
        _interleaved != null && source.Rows % InterleavedFormat.GroupRows == 0 && _interleaved.CanStore(source.Cols) ? _interleaved : null;

    public override long EncodedBytes(in WeightMatrix source, int alignment) =>
        (source.Rows * ((WeightFormat?)InterleavedFor(source) ?? Target).RowBytes(source.Cols) + alignment - 1) / alignment * alignment;

    public override WeightMatrix Encode(in WeightMatrix source, byte* target, int alignment)
    {
        int cols = source.Cols;
        long rowBytes = Target.RowBytes(cols);
        var row = new float[cols];
        var interleaved = InterleavedFor(source);
        fixed (float* x = row)
        {
            if (interleaved is null)
            {
                for (int r = 0; r < source.Rows; r++) QuantizeRow(source, r, x, target + r * rowBytes);
                return new WeightMatrix(Target, target, source.Rows, cols);
            }
            const int groupRows = InterleavedFormat.GroupRows;
            var buffer = new byte[groupRows * rowBytes];
            fixed (byte* group = buffer)
            {
                for (int g = 0; g < source.Rows / groupRows; g++)
                {
                    for (int r = 0; r < groupRows; r++) QuantizeRow(source, g * groupRows + r, x, group + r * rowBytes);
                    interleaved.Interleave(new WeightMatrix(Target, group, groupRows, cols), target + g * groupRows * interleaved.RowBytes(cols));
                }
            }
            return new WeightMatrix(interleaved, target, source.Rows, cols);
        }
    }

    private void QuantizeRow(in WeightMatrix source, int r, float* x, byte* destination)
    {
        source.Format.WidenRow(source, r, x);
        _quantizer.QuantizeRow(x, destination, source.Cols);
    }
}
