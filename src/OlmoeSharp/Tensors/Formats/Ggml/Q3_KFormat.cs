namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q3_K: super-blocks of 256 = 16 sub-blocks of 16. Bytes: a 32-byte high-bit mask (bit b of byte l for value
/// 32·b + l), 64 bytes of 2-bit low parts (as Q2_K), 12 bytes of 6-bit signed scales, fp16 d;
/// value = d·(scale − 32)·(low − (high bit set ? 0 : 4)).
/// </summary>
internal sealed unsafe class Q3_KFormat : GgmlBlockFormat
{
    public static readonly Q3_KFormat Instance = new();

    private Q3_KFormat() { }

    public override string Name => "q3_k";

    public override int BlockSize => 256;

    public override int BlockBytes => 110;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        byte* highMask = block;
        byte* q = block + 32;
        byte* packed = block + 96;
        float d = Half(block + 108);
        // Sub-block s: low four bits from byte s (s < 8) or the high nibble of byte s − 8; top two bits from byte 8 + s % 4.
        int* scales = stackalloc int[16];
        for (int s = 0; s < 16; s++)
        {
            int low = s < 8 ? packed[s] & 0x0F : packed[s - 8] >> 4;
            int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
            scales[s] = low | (high << 4);
        }
        int sub = 0, bit = 1;
        for (int half = 0; half < 2; half++, q += 32)
        {
            for (int shift = 0; shift < 8; shift += 2, bit <<= 1)
            {
                for (int part = 0; part < 32; part += 16)
                {
                    float dl = d * (scales[sub++] - 32);
                    for (int l = 0; l < 16; l++)
                        *destination++ = dl * (((q[part + l] >> shift) & 3) - ((highMask[part + l] & bit) != 0 ? 0 : 4));
                }
            }
        }
    }
}
