namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q6_K as ggml's reference quantizer writes it (quantize_row_q6_K_ref). Per super-block of 256: each sub-block of
/// 16 gets a signed scale from <see cref="KQuantFit.SymmetricScale"/> (levels −32…31); the scale of largest
/// magnitude s sets d = s / −128 (fp16) and the sixteen scales are stored as int8 multiples of it; every value is
/// then rounded again against d·scale as stored. An all-zero super-block is stored as zeros.
/// </summary>
internal sealed unsafe class Q6_KQuantizer : BlockQuantizer
{
    public static readonly Q6_KQuantizer Instance = new();

    private Q6_KQuantizer() { }

    public override GgmlBlockFormat BlockFormat => Q6_KFormat.Instance;

    public override void QuantizeBlock(float* x, byte* block)
    {
        sbyte* levels = stackalloc sbyte[256];
        float* scales = stackalloc float[16];
        if (KQuantFitVector.IsSupported)
        {
            KQuantFitVector.SymmetricScale8(32, x, levels, scales);
            KQuantFitVector.SymmetricScale8(32, x + 128, levels + 128, scales + 8);
        }
        else
        {
            for (int s = 0; s < 16; s++) scales[s] = KQuantFit.SymmetricScale(16, 32, x + 16 * s, levels + 16 * s);
        }
        float maxScale = 0, maxAbsScale = 0;
        for (int s = 0; s < 16; s++)
        {
            if (MathF.Abs(scales[s]) > maxAbsScale)
            {
                maxAbsScale = MathF.Abs(scales[s]);
                maxScale = scales[s];
            }
        }
        if (maxAbsScale < KQuantFit.GroupMaxEps)
        {
            new Span<byte>(block, 210).Clear();
            return;
        }

        float iscale = -128f / maxScale;
        StoreHalf(block + 208, 1 / iscale);
        sbyte* sc = (sbyte*)(block + 192);
        for (int s = 0; s < 16; s++) sc[s] = (sbyte)Math.Min(127, KQuantFit.NearestInt(iscale * scales[s]));

        float d = LoadHalf(block + 208);
        for (int s = 0; s < 16; s++)
        {
            float ds = d * sc[s];
            if (ds == 0) continue;
            for (int i = 0; i < 16; i++)
                levels[16 * s + i] = (sbyte)(Math.Max(-32, Math.Min(31, KQuantFit.NearestInt(x[16 * s + i] / ds))) + 32);
        }

        byte* ql = block;
        byte* qh = block + 128;
        for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
        {
            for (int l = 0; l < 32; l++)
            {
                int q1 = levels[j + l], q2 = levels[j + l + 32], q3 = levels[j + l + 64], q4 = levels[j + l + 96];
                ql[l] = (byte)((q1 & 0x0F) | (q3 & 0x0F) << 4);
                ql[l + 32] = (byte)((q2 & 0x0F) | (q4 & 0x0F) << 4);
                qh[l] = (byte)(q1 >> 4 | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}
