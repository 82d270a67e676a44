namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q4_1 as ggml's reference quantizer writes it: m = min x, d = (max x − m) / 15 (both fp16),
/// q = min(15, ⌊(x − m) / d + 0.5⌋) with the unrounded d and m.
/// </summary>
internal sealed unsafe class Q4_1Quantizer : BlockQuantizer
{
    public static readonly Q4_1Quantizer Instance = new();

    private Q4_1Quantizer() { }

    public override GgmlBlockFormat BlockFormat => Q4_1Format.Instance;

    public override void QuantizeBlock(float* x, byte* block)
    {
        var (min, max) = Range(x);
        float d = (max - min) / 15;
        float id = d != 0 ? 1 / d : 0;
        StoreHalf(block, d);
        StoreHalf(block + 2, min);
        byte* qs = block + 4;
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(15, (int)((x[j] - min) * id + 0.5f));
            int q1 = Math.Min(15, (int)((x[j + 16] - min) * id + 0.5f));
            qs[j] = (byte)(q0 | q1 << 4);
        }
    }

    /// <summary>The smallest and largest of x[0..32).</summary>
    public static (float Min, float Max) Range(float* x)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        for (int j = 0; j < 32; j++)
        {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        return (min, max);
    }
}
