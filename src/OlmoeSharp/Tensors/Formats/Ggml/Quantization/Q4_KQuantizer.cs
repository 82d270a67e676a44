namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Q4_K as ggml's reference quantizer writes it (quantize_row_q4_K_ref). Per super-block of 256: each sub-block of
/// 32 gets its own scale and minimum from <see cref="KQuantFit.ScaleAndMin"/> (levels 0–15, weights mean|x| + |x|
/// so large values count more, 21 candidate step counts from 14 to 16); the eight scales and eight minimums are
/// stored as 6-bit multiples of d = max scale / 63 and dmin = max min / 63 (fp16); finally every value is rounded
/// again against the scale and minimum as stored, so the nibbles fit what the dequantizer will compute.
/// </summary>
internal sealed unsafe class Q4_KQuantizer : BlockQuantizer
{
    public static readonly Q4_KQuantizer Instance = new();

    private Q4_KQuantizer() { }

    public override GgmlBlockFormat BlockFormat => Q4_KFormat.Instance;

    public override void QuantizeBlock(float* x, byte* block) => KQuantizer.Quantize(x, block, nmax: 15, rmin: -1f, rdelta: 0.1f, nstep: 20);
}

/// <summary>
/// Q5_K as ggml's reference quantizer writes it (quantize_row_q5_K_ref): as <see cref="Q4_KQuantizer"/> with levels
/// 0–31 and 16 candidate step counts from 30.5 to 32; the fifth bit of value l of sub-block 2k + s is bit 2k + s of
/// qh[l].
/// </summary>
internal sealed unsafe class Q5_KQuantizer : BlockQuantizer
{
    public static readonly Q5_KQuantizer Instance = new();

    private Q5_KQuantizer() { }

    public override GgmlBlockFormat BlockFormat => Q5_KFormat.Instance;

    public override void QuantizeBlock(float* x, byte* block) => KQuantizer.Quantize(x, block, nmax: 31, rmin: -0.5f, rdelta: 0.1f, nstep: 15);
}

/// <summary>The scale-and-minimum super-block quantization Q4_K and Q5_K share; only the level count and the packing differ.</summary>
internal static unsafe class KQuantizer
{
    public static void Quantize(float* x, byte* block, int nmax, float rmin, float rdelta, int nstep)
    {
        byte* levels = stackalloc byte[256];
        byte* scratch = stackalloc byte[32];
        float* scales = stackalloc float[8];
        float* mins = stackalloc float[8];
        float* weights = stackalloc float[256];
        for (int j = 0; j < 8; j++)
        {
            float* xs = x + 32 * j;
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += xs[l] * xs[l];
            float average = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[32 * j + l] = average + MathF.Abs(xs[l]);
        }
        if (KQuantFitVector.IsSupported)
        {
            KQuantFitVector.ScaleAndMin8(nmax, x, weights, levels, scales, mins, rmin, rdelta, nstep);
        }
        else
        {
            for (int j = 0; j < 8; j++)
                scales[j] = KQuantFit.ScaleAndMin(32, nmax, x + 32 * j, weights + 32 * j, levels + 32 * j, out mins[j], scratch, rmin, rdelta, nstep);
        }
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }

        float inverseScale = maxScale > 0 ? 63f / maxScale : 0;
        float inverseMin = maxMin > 0 ? 63f / maxMin : 0;
        byte* ls = stackalloc byte[8];
        byte* lm = stackalloc byte[8];
        for (int j = 0; j < 8; j++)
        {
            // Stored as a byte first, as ggml does (uint8_t ls = nearest_int(…)), then capped at 63.
            ls[j] = Math.Min((byte)63, (byte)KQuantFit.NearestInt(inverseScale * scales[j]));
            lm[j] = Math.Min((byte)63, (byte)KQuantFit.NearestInt(inverseMin * mins[j]));
        }
        byte* packed = block + 4;
        KQuantFit.PackScales(packed, ls, lm);
        BlockQuantizer.StoreHalf(block, maxScale / 63f);
        BlockQuantizer.StoreHalf(block + 2, maxMin / 63f);

        float d = BlockQuantizer.LoadHalf(block), dmin = BlockQuantizer.LoadHalf(block + 2);
        for (int j = 0; j < 8; j++)
        {
            var (sc, m) = KQuantScales.Get(packed, j);
            float dj = d * sc;
            if (dj == 0) continue;
            float dm = dmin * m;
            for (int i = 0; i < 32; i++)
                levels[32 * j + i] = (byte)Math.Max(0, Math.Min(nmax, KQuantFit.NearestInt((x[32 * j + i] + dm) / dj)));
        }

        if (nmax == 15)
        {
            byte* q = block + 16;
            for (int j = 0; j < 256; j += 64, q += 32)
                for (int l = 0; l < 32; l++) q[l] = (byte)(levels[j + l] | levels[j + l + 32] << 4);
            return;
        }
        byte* qh = block + 16;
        byte* ql = block + 48;
        new Span<byte>(qh, 32).Clear();
        int bit1 = 1, bit2 = 2;
        for (int j = 0; j < 256; j += 64, ql += 32, bit1 <<= 2, bit2 <<= 2)
        {
            for (int l = 0; l < 32; l++)
            {
                int l1 = levels[j + l], l2 = levels[j + l + 32];
                if (l1 > 15) { l1 -= 16; qh[l] |= (byte)bit1; }
                if (l2 > 15) { l2 -= 16; qh[l] |= (byte)bit2; }
                ql[l] = (byte)(l1 | l2 << 4);
            }
        }
    }
}
