namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml IQ4_XS: super-blocks of 256 = 8 sub-blocks of 32. An fp16 scale d, 6-bit sub-block scales (low 4 bits in
/// scales_l, two nibbles a byte; high 2 bits in the 16-bit scales_h), and per sub-block 16 bytes of nibbles (as
/// Q4_0) indexing the IQ4_NL table; value = d·(scale − 32)·table[q].
/// </summary>
internal sealed unsafe class IQ4_XSFormat : GgmlBlockFormat
{
    public static readonly IQ4_XSFormat Instance = new();

    private IQ4_XSFormat() { }

    public override string Name => "iq4_xs";

    public override int BlockSize => 256;

    public override int BlockBytes => 136;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block);
        int scalesHigh = *(ushort*)(block + 2);
        byte* scalesLow = block + 4;
        byte* qs = block + 8;
        var levels = IQ4_NLFormat.Levels;
        for (int sub = 0; sub < 8; sub++, qs += 16, destination += 32)
        {
            int scale = ((scalesLow[sub / 2] >> (4 * (sub % 2))) & 0x0F) | (((scalesHigh >> (2 * sub)) & 3) << 4);
            float dl = d * (scale - 32);
            for (int j = 0; j < 16; j++)
            {
                destination[j] = dl * levels[qs[j] & 0x0F];
                destination[j + 16] = dl * levels[qs[j] >> 4];
            }
        }
    }
}
