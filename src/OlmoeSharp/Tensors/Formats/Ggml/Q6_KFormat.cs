namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q6_K: super-blocks of 256 = 16 sub-blocks of 16. Bytes: 128 bytes of low nibbles, 64 bytes of 2-bit high
/// parts, 16 signed 8-bit scales, fp16 d. Each half of 128 values takes 64 nibble bytes and 32 high bytes: value
/// 32·k + l of the half is nibble (k odd: high) of byte l + 32·(k % 2) and bits 2k..2k+1 of high byte l;
/// value = d·scale·(q − 32).
/// </summary>
internal sealed unsafe class Q6_KFormat : GgmlBlockFormat
{
    public static readonly Q6_KFormat Instance = new();

    private Q6_KFormat() { }

    public override string Name => "q6_k";

    public override int BlockSize => 256;

    public override int BlockBytes => 210;

    protected override delegate*<byte*, int, Int16Activations, float> Int16Dot =>
        GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ6_K : null;

    protected override delegate*<byte*, int, Int16Activations[], int, float*, void> Int16DotTokens =>
        GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ6_KTokens : null;

    protected override delegate*<byte*, float*, int, void> VectorWiden =>
        GgmlAvx2Dequantizer.IsSupported ? &GgmlAvx2Dequantizer.WidenQ6_K : null;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        byte* ql = block;
        byte* qh = block + 128;
        sbyte* sc = (sbyte*)(block + 192);
        float d = Half(block + 208);
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, destination += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                int s = l / 16;
                int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                destination[l] = d * sc[s] * q1;
                destination[l + 32] = d * sc[s + 2] * q2;
                destination[l + 64] = d * sc[s + 4] * q3;
                destination[l + 96] = d * sc[s + 6] * q4;
            }
        }
    }
}
