namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q8_0 as ggml's reference quantizer writes it: d = max|x| / 127 (stored as fp16), q = round(x / d) with halves
/// away from zero, computed with the unrounded d — so the largest value becomes ±127.
/// </summary>
internal sealed unsafe class Q8_0Quantizer : BlockQuantizer
{
    public static readonly Q8_0Quantizer Instance = new();

    private Q8_0Quantizer() { }

    public override GgmlBlockFormat BlockFormat => Q8_0Format.Instance;

    public override void QuantizeBlock(float* x, byte* block)
    {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
        float d = amax / 127;
        float id = d != 0 ? 1 / d : 0;
        StoreHalf(block, d);
        sbyte* q = (sbyte*)(block + 2);
        for (int j = 0; j < 32; j++) q[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
    }
}
