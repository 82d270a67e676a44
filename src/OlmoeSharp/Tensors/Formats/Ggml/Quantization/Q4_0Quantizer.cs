namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q4_0 as ggml's reference quantizer writes it: the value m of largest magnitude (the first, on ties) sets
/// d = m / −8, so m itself becomes quant 0 (value −8·d = m) and the others q = min(15, ⌊x / d + 8.5⌋), truncated as
/// C truncates; the scale is fp16.
/// </summary>
internal sealed unsafe class Q4_0Quantizer : BlockQuantizer
{
    public static readonly Q4_0Quantizer Instance = new();

    private Q4_0Quantizer() { }

    public override GgmlBlockFormat BlockFormat => Q4_0Format.Instance;

    public override void QuantizeBlock(float* x, byte* block)
    {
        float d = LargestMagnitude(x) / -8;
        float id = d != 0 ? 1 / d : 0;
        StoreHalf(block, d);
        byte* qs = block + 2;
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(15, (int)(x[j] * id + 8.5f));
            int q1 = Math.Min(15, (int)(x[j + 16] * id + 8.5f));
            qs[j] = (byte)(q0 | q1 << 4);
        }
    }

    /// <summary>The value of largest magnitude among x[0..32), with its sign; the first of equal magnitudes.</summary>
    public static float LargestMagnitude(float* x)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
        {
            if (amax < MathF.Abs(x[j]))
            {
                amax = MathF.Abs(x[j]);
                max = x[j];
            }
        }
        return max;
    }
}
