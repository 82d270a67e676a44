namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q5_0: blocks of 32, an fp16 scale d, 32 fifth bits qh (bit j for value j) and 16 bytes of nibbles (as
/// Q4_0); value = (q − 16)·d.
/// </summary>
internal sealed unsafe class Q5_0Format : GgmlBlockFormat
{
    public static readonly Q5_0Format Instance = new();

    private Q5_0Format() { }

    public override string Name => "q5_0";

    public override int BlockSize => 32;

    public override int BlockBytes => 22;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block);
        uint qh = *(uint*)(block + 2);
        byte* qs = block + 6;
        for (int j = 0; j < 16; j++)
        {
            int high0 = (int)((qh >> j) << 4) & 0x10;
            int high1 = (int)(qh >> (j + 12)) & 0x10;
            destination[j] = (((qs[j] & 0x0F) | high0) - 16) * d;
            destination[j + 16] = (((qs[j] >> 4) | high1) - 16) * d;
        }
    }
}
