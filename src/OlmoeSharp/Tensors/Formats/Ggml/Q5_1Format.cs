namespace OlmoeSharp.Tensors.Formats;

/// <summary>ggml Q5_1: blocks of 32, fp16 scale d and minimum m, fifth bits and nibbles as Q5_0; value = q·d + m.</summary>
internal sealed unsafe class Q5_1Format : GgmlBlockFormat
{
    public static readonly Q5_1Format Instance = new();

    private Q5_1Format() { }

    public override string Name => "q5_1";

    public override int BlockSize => 32;

    public override int BlockBytes => 24;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block), m = Half(block + 2);
        uint qh = *(uint*)(block + 4);
        byte* qs = block + 8;
        for (int j = 0; j < 16; j++)
        {
            int high0 = (int)((qh >> j) << 4) & 0x10;
            int high1 = (int)(qh >> (j + 12)) & 0x10;
            destination[j] = ((qs[j] & 0x0F) | high0) * d + m;
            destination[j + 16] = ((qs[j] >> 4) | high1) * d + m;
        }
    }
}
