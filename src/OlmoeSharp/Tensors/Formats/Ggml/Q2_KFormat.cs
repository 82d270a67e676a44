namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q2_K: super-blocks of 256 = 16 sub-blocks of 16. Bytes: 16 scale bytes (low nibble scale, high nibble
/// minimum), 64 bytes of 2-bit quants (each byte holds four values 32 apart), fp16 d and dmin;
/// value = d·scale·q − dmin·min.
/// </summary>
internal sealed unsafe class Q2_KFormat : GgmlBlockFormat
{
    public static readonly Q2_KFormat Instance = new();

    private Q2_KFormat() { }

    public override string Name => "q2_k";

    public override int BlockSize => 256;

    public override int BlockBytes => 84;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        byte* scales = block;
        byte* q = block + 16;
        float d = Half(block + 80), min = Half(block + 82);
        int sub = 0;
        for (int half = 0; half < 2; half++, q += 32)
        {
            for (int shift = 0; shift < 8; shift += 2)
            {
                for (int part = 0; part < 32; part += 16)
                {
                    int sc = scales[sub++];
                    float dl = d * (sc & 0x0F), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *destination++ = dl * ((q[part + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}
