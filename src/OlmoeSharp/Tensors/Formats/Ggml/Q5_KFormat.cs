namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q5_K: as <see cref="Q4_KFormat"/> plus a fifth bit per value: bytes are fp16 d and dmin, 12 scale bytes, 32
/// bytes of high bits (bit 2k / 2k+1 of byte l for value l of sub-block 2k / 2k+1), 128 bytes of nibbles;
/// value = d·scale·q − dmin·min.
/// </summary>
internal sealed unsafe class Q5_KFormat : GgmlBlockFormat
{
    public static readonly Q5_KFormat Instance = new();

    private Q5_KFormat() { }

    public override string Name => "q5_k";

    public override int BlockSize => 256;

    public override int BlockBytes => 176;

    protected override delegate*<byte*, int, Int16Activations, float> Int16Dot =>
        GgmlAvx512Kernels.IsSupported ? &GgmlAvx512Kernels.DotQ5_K : GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ5_K : null;

    protected override delegate*<byte*, float*, int, void> VectorWiden =>
        GgmlAvx2Dequantizer.IsSupported ? &GgmlAvx2Dequantizer.WidenQ5_K : null;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block), min = Half(block + 2);
        byte* scales = block + 4;
        byte* qh = block + 16;
        byte* ql = block + 48;
        int bit1 = 1, bit2 = 2;
        for (int sub = 0; sub < 8; sub += 2, ql += 32, bit1 <<= 2, bit2 <<= 2)
        {
            var (sc1, m1) = KQuantScales.Get(scales, sub);
            var (sc2, m2) = KQuantScales.Get(scales, sub + 1);
            float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
            for (int l = 0; l < 32; l++) *destination++ = d1 * ((ql[l] & 0x0F) + ((qh[l] & bit1) != 0 ? 16 : 0)) - min1;
            for (int l = 0; l < 32; l++) *destination++ = d2 * ((ql[l] >> 4) + ((qh[l] & bit2) != 0 ? 16 : 0)) - min2;
        }
    }
}
