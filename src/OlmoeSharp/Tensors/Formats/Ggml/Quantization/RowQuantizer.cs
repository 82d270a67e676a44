namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Writes float32 rows in one stored <see cref="WeightFormat"/>: the inverse of its <see cref="WeightFormat.WidenRow"/>,
/// exact for f32, rounded to nearest even for bf16 and f16, and for the ggml block types the method of ggml's
/// reference quantizers (<c>quantize_row_*_ref</c> in ggml-quants.c, which llama.cpp's quantizer uses when it is given
/// no importance matrix). The block layouts are the formats' own: what <see cref="GgmlBlockFormat.DequantizeBlock"/>
/// reads. Stateless and thread-safe; <see cref="RowQuantizers"/> names the one for each format.
/// </summary>
internal abstract unsafe class RowQuantizer
{
    /// <summary>The format the rows are written in.</summary>
    public abstract WeightFormat Format { get; }

    /// <summary>destination[0..Format.RowBytes(cols)) = row x[0..cols) in <see cref="Format"/>; cols must be storable (<see cref="WeightFormat.CanStore"/>).</summary>
    public abstract void QuantizeRow(float* x, byte* destination, int cols);

    /// <summary>Span form of <see cref="QuantizeRow(float*, byte*, int)"/>, with the lengths checked.</summary>
    public void QuantizeRow(ReadOnlySpan<float> x, Span<byte> destination)
    {
        if (!Format.CanStore(x.Length)) throw new ArgumentException($"{Format.Name} cannot store rows of {x.Length} values.", nameof(x));
        if (destination.Length < Format.RowBytes(x.Length)) throw new ArgumentException("destination is shorter than one row.", nameof(destination));
        fixed (float* source = x)
        fixed (byte* target = destination)
            QuantizeRow(source, target, x.Length);
    }

    public override string ToString() => Format.Name;
}

/// <summary>A quantizer of a ggml block type: each block of <see cref="GgmlBlockFormat.BlockSize"/> values on its own.</summary>
internal abstract unsafe class BlockQuantizer : RowQuantizer
{
    /// <summary>The block format written.</summary>
    public abstract GgmlBlockFormat BlockFormat { get; }

    public sealed override WeightFormat Format => BlockFormat;

    /// <summary>block[0..BlockBytes) = the block of x[0..BlockSize).</summary>
    public abstract void QuantizeBlock(float* x, byte* block);

    public sealed override void QuantizeRow(float* x, byte* destination, int cols)
    {
        int size = BlockFormat.BlockSize, bytes = BlockFormat.BlockBytes;
        for (int i = 0; i < cols; i += size, destination += bytes) QuantizeBlock(x + i, destination);
    }

    /// <summary>An fp16 value stored little-endian, rounded to nearest even (ggml's GGML_FP32_TO_FP16).</summary>
    internal static void StoreHalf(byte* p, float value) => *(ushort*)p = BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>An fp16 value read back (ggml's GGML_FP16_TO_FP32): the quantizers fit the quants to the scale as stored.</summary>
    internal static float LoadHalf(byte* p) => (float)BitConverter.UInt16BitsToHalf(*(ushort*)p);
}

/// <summary>The quantizer of each format that has one.</summary>
internal static class RowQuantizers
{
    private static readonly Dictionary<WeightFormat, RowQuantizer> s_byFormat = new RowQuantizer[]
    {
        F32RowQuantizer.Instance, F16RowQuantizer.Instance, Bf16RowQuantizer.Instance,
        Q8_0Quantizer.Instance, Q4_0Quantizer.Instance, Q4_1Quantizer.Instance, Q5_0Quantizer.Instance, Q5_1Quantizer.Instance,
        Q4_KQuantizer.Instance, Q5_KQuantizer.Instance, Q6_KQuantizer.Instance,
    }.ToDictionary(q => q.Format);

    /// <summary>The quantizer writing <paramref name="format"/>, or false when rows cannot be written in it.</summary>
    public static bool TryGet(WeightFormat format, out RowQuantizer quantizer) => s_byFormat.TryGetValue(format, out quantizer!);

    /// <summary>The quantizer writing <paramref name="format"/>.</summary>
    public static RowQuantizer For(WeightFormat format) =>
        TryGet(format, out var quantizer) ? quantizer : throw new NotSupportedException($"rows cannot be quantized to {format.Name}.");
}
