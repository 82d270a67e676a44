namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q5_0 as ggml's reference quantizer writes it: as <see cref="Q4_0Quantizer"/> with 32 levels, d = m / −16 and
/// q = min(31, ⌊x / d + 16.5⌋); the low four bits go to the nibbles, the fifth to bit j of qh for value j.
/// </summary>
internal sealed unsafe class Q5_0Quantizer : BlockQuantizer
{
    public static readonly Q5_0Quantizer Instance = new();

    private Q5_0Quantizer() { }

    public override GgmlBlockFormat BlockFormat => Q5_0Format.Instance;

    public override void QuantizeBlock(float* x, byte* block)
    {
        float d = Q4_0Quantizer.LargestMagnitude(x) / -16;
        float id = d != 0 ? 1 / d : 0;
        StoreHalf(block, d);
        uint qh = 0;
        byte* qs = block + 6;
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(31, (int)(x[j] * id + 16.5f));
            int q1 = Math.Min(31, (int)(x[j + 16] * id + 16.5f));
            qs[j] = (byte)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint)(q0 >> 4) << j | (uint)(q1 >> 4) << (j + 16);
        }
        *(uint*)(block + 2) = qh;
    }
}
