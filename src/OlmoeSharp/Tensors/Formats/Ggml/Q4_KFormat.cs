namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q4_K: super-blocks of 256 = 8 sub-blocks of 32. Bytes: fp16 d and dmin, 12 bytes of 6-bit scales and
/// minimums (<see cref="KQuantScales"/>), 128 bytes of nibbles — each 32 bytes hold two sub-blocks, low nibbles the
/// first; value = d·scale·q − dmin·min.
/// </summary>
internal sealed unsafe class Q4_KFormat : GgmlBlockFormat
{
    public static readonly Q4_KFormat Instance = new();

    private Q4_KFormat() { }

    public override string Name => "q4_k";

    public override int BlockSize => 256;

    public override int BlockBytes => 144;

    protected override delegate*<byte*, int, Int16Activations, float> Int16Dot =>
        GgmlAvx512Kernels.IsSupported ? &GgmlAvx512Kernels.DotQ4_K : GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ4_K : null;

    protected override delegate*<byte*, int, Int16Activations[], int, float*, void> Int16DotTokens =>
        GgmlAvx512Kernels.IsSupported ? &GgmlAvx512Kernels.DotQ4_KTokens : GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ4_KTokens : null;

    protected override delegate*<byte*, float*, int, void> VectorWiden =>
        GgmlAvx2Dequantizer.IsSupported ? &GgmlAvx2Dequantizer.WidenQ4_K : null;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block), min = Half(block + 2);
        byte* scales = block + 4;
        byte* q = block + 16;
        for (int sub = 0; sub < 8; sub += 2, q += 32)
        {
            var (sc1, m1) = KQuantScales.Get(scales, sub);
            var (sc2, m2) = KQuantScales.Get(scales, sub + 1);
            float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
            for (int l = 0; l < 32; l++) *destination++ = d1 * (q[l] & 0x0F) - min1;
            for (int l = 0; l < 32; l++) *destination++ = d2 * (q[l] >> 4) - min2;
        }
    }
}
