namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q5_1 as ggml's reference quantizer writes it: as <see cref="Q4_1Quantizer"/> with 32 levels,
/// d = (max x − m) / 31 and q = ⌊(x − m) / d + 0.5⌋; fifth bits in qh as Q5_0.
/// </summary>
internal sealed unsafe class Q5_1Quantizer : BlockQuantizer
{
    public static readonly Q5_1Quantizer Instance = new();

    private Q5_1Quantizer() { }

    public override GgmlBlockFormat BlockFormat => Q5_1Format.Instance;

    public override void QuantizeBlock(float* x, byte* block)
    {
        var (min, max) = Q4_1Quantizer.Range(x);
        float d = (max - min) / 31;
        float id = d != 0 ? 1 / d : 0;
        StoreHalf(block, d);
        StoreHalf(block + 2, min);
        uint qh = 0;
        byte* qs = block + 8;
        for (int j = 0; j < 16; j++)
        {
            int q0 = (byte)((x[j] - min) * id + 0.5f);
            int q1 = (byte)((x[j + 16] - min) * id + 0.5f);
            qs[j] = (byte)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint)((q0 >> 4) & 1) << j | (uint)((q1 >> 4) & 1) << (j + 16);
        }
        *(uint*)(block + 4) = qh;
    }
}
