namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The fits of ggml's reference K-quantizers (ggml-quants.c): for a group of values, the integer levels L and the
/// scale (and minimum) that make scale·L (+ min) closest to them in a weighted least-squares sense, found by trying a
/// few candidate scales around max / nmax and solving for the best scale given each candidate's levels. Same
/// candidates, same weights, same float32 operations in the same order as ggml's, so the chosen levels are ggml's.
/// </summary>
internal static unsafe class KQuantFit
{
    /// <summary>Groups whose largest magnitude is below this are all zero (ggml's GROUP_MAX_EPS).</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>round(x) with halves to even, for |x| &lt; 2²² (ggml's nearest_int: the float's mantissa after adding 1.5·2²³).</summary>
    public static int NearestInt(float x) => (BitConverter.SingleToInt32Bits(x + 12582912f) & 0x007FFFFF) - 0x00400000;

    /// <summary>
    /// Levels L[i] in [0, nmax] and (scale, min) with x ≈ scale·L − min, weighted by w (ggml's make_qkx2_quants, mean
    /// squared error): starts from the range [min(x, 0), max x] split into nmax steps, then tries nstep + 1 step
    /// counts nmax + rmin + rdelta·k, each time solving the weighted least squares for scale and offset given the
    /// levels it rounds to (offset clamped to at most 0), and keeps the fit of least weighted error. Returns the
    /// scale; <paramref name="negatedMin"/> is −offset ≥ 0.
    /// </summary>
    public static float ScaleAndMin(int n, int nmax, float* x, float* w, byte* levels, out float negatedMin, byte* scratch,
        float rmin, float rdelta, int nstep)
    {
        float min = x[0], max = x[0];
        float sumW = w[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            sumW += w[i];
            sumX += w[i] * x[i];
        }
        if (min > 0) min = 0;
        if (max == min)
        {
            for (int i = 0; i < n; i++) levels[i] = 0;
            negatedMin = -min;
            return 0;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int l = NearestInt(iscale * (x[i] - min));
            levels[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            float diff = scale * levels[i] + min - x[i];
            bestError += w[i] * (diff * diff);
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Max(0, Math.Min(nmax, NearestInt(iscale * (x[i] - min))));
                scratch[i] = (byte)l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXL += w[i] * l * x[i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det <= 0) continue;
            float thisScale = (sumW * sumXL - sumX * sumL) / det;
            float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            if (thisMin > 0)
            {
                thisMin = 0;
                thisScale = sumXL / sumL2;
            }
            float error = 0;
            for (int i = 0; i < n; i++)
            {
                float diff = thisScale * scratch[i] + thisMin - x[i];
                error += w[i] * (diff * diff);
            }
            if (error < bestError)
            {
                for (int i = 0; i < n; i++) levels[i] = scratch[i];
                bestError = error;
                scale = thisScale;
                min = thisMin;
            }
        }
        negatedMin = -min;
        return scale;
    }

    /// <summary>
    /// Signed levels L[i] + nmax in [0, 2·nmax) and a scale with x ≈ scale·L, weighted by x² (ggml's make_qx_quants,
    /// rmse_type 1, no importance weights): the value m of largest magnitude maps to −nmax, then 18 nearby step
    /// sizes −(nmax ± 0.1·k) / m are tried and the levels of the best least-squares fit kept. Returns the scale
    /// (0 for an all-zero group, whose levels are all 0).
    /// </summary>
    public static float SymmetricScale(int n, int nmax, float* x, sbyte* levels)
    {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            for (int i = 0; i < n; i++) levels[i] = 0;
            return 0;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Max(-nmax, Math.Min(nmax - 1, NearestInt(iscale * x[i])));
            levels[i] = (sbyte)(l + nmax);
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0) continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Max(-nmax, Math.Min(nmax - 1, NearestInt(iscale * x[i])));
                float w = x[i] * x[i];
                sumLX += w * x[i] * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2)
            {
                for (int i = 0; i < n; i++)
                    levels[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, NearestInt(iscale * x[i]))));
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /// <summary>
    /// Stores eight 6-bit (scale, min) pairs in the 12 bytes Q4_K and Q5_K share (the inverse of
    /// <see cref="KQuantScales.Get"/>): pairs 0–3 in the low six bits of bytes 0–3 and 4–7, pairs 4–7 as nibbles of
    /// bytes 8–11 with their top two bits in the top bits of bytes 0–7.
    /// </summary>
    public static void PackScales(byte* scales, byte* ls, byte* lm)
    {
        for (int j = 0; j < 8; j++)
        {
            if (j < 4)
            {
                scales[j] = ls[j];
                scales[j + 4] = lm[j];
            }
            else
            {
                scales[j + 4] = (byte)((ls[j] & 0x0F) | (lm[j] & 0x0F) << 4);
                scales[j - 4] |= (byte)(ls[j] >> 4 << 6);
                scales[j] |= (byte)(lm[j] >> 4 << 6);
            }
        }
    }
}
