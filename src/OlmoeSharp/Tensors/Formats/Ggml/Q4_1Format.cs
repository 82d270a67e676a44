namespace OlmoeSharp.Tensors.Formats;

/// <summary>ggml Q4_1: blocks of 32, fp16 scale d and minimum m, 16 bytes of nibbles (as Q4_0); value = q·d + m.</summary>
internal sealed unsafe class Q4_1Format : GgmlBlockFormat
{
    public static readonly Q4_1Format Instance = new();

    private Q4_1Format() { }

    public override string Name => "q4_1";

    public override int BlockSize => 32;

    public override int BlockBytes => 20;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block), m = Half(block + 2);
        byte* qs = block + 4;
        for (int j = 0; j < 16; j++)
        {
            destination[j] = (qs[j] & 0x0F) * d + m;
            destination[j + 16] = (qs[j] >> 4) * d + m;
        }
    }
}
