using System.Runtime.Intrinsics;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// <see cref="KQuantFit"/>'s fits for eight groups at once, one group per lane of a 256-bit vector: lane j holds
/// element i of group j, so each lane runs exactly the scalar fit of its own group — the same float32 operations on
/// the same values in the same order (the sums are per lane, never across lanes) — and the results are the scalar
/// ones bit for bit (tested), several times faster. Used where 256-bit vectors are hardware-accelerated.
/// </summary>
internal static unsafe class KQuantFitVector
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated;

    /// <summary>
    /// <see cref="KQuantFit.ScaleAndMin"/> of the eight groups of 32 values at x[32·j …] (weights w alike): levels
    /// into levels[32·j …], scales[j], negatedMins[j].
    /// </summary>
    public static void ScaleAndMin8(int nmax, float* x, float* w, byte* levels, float* scales, float* negatedMins, float rmin, float rdelta, int nstep)
    {
        const int n = 32;
        var xt = stackalloc Vector256<float>[n];
        var wt = stackalloc Vector256<float>[n];
        var best = stackalloc Vector256<int>[n];
        var trial = stackalloc Vector256<int>[n];
        Transpose(x, xt, n);
        Transpose(w, wt, n);
        var zero = Vector256<float>.Zero;
        var top = Vector256.Create(nmax);

        Vector256<float> min = xt[0], max = xt[0], sumW = wt[0], sumX = wt[0] * xt[0];
        for (int i = 1; i < n; i++)
        {
            min = Vector256.ConditionalSelect(Vector256.LessThan(xt[i], min), xt[i], min);
            max = Vector256.ConditionalSelect(Vector256.GreaterThan(xt[i], max), xt[i], max);
            sumW += wt[i];
            sumX += wt[i] * xt[i];
        }
        min = Vector256.ConditionalSelect(Vector256.GreaterThan(min, zero), zero, min);
        var flat = Vector256.Equals(max, min);
        var flatMin = min;
        var iscale = Vector256.Create((float)nmax) / (max - min);
        var scale = Vector256<float>.One / iscale;
        var bestError = zero;
        for (int i = 0; i < n; i++)
        {
            var l = Clamp(NearestInt(iscale * (xt[i] - min)), Vector256<int>.Zero, top);
            best[i] = l;
            var diff = scale * Vector256.ConvertToSingle(l) + min - xt[i];
            bestError += wt[i] * (diff * diff);
        }
        for (int step = 0; step <= nstep; step++)
        {
            // As in ggml, each candidate is taken against the best fit so far: min moves when a fit improves.
            var stepScale = Vector256.Create(rmin + rdelta * step + nmax) / (max - min);
            Vector256<float> sumL = zero, sumL2 = zero, sumXL = zero;
            for (int i = 0; i < n; i++)
            {
                var l = Clamp(NearestInt(stepScale * (xt[i] - min)), Vector256<int>.Zero, top);
                trial[i] = l;
                var fl = Vector256.ConvertToSingle(l);
                sumL += wt[i] * fl;
                sumL2 += wt[i] * fl * fl;
                sumXL += wt[i] * fl * xt[i];
            }
            var det = sumW * sumL2 - sumL * sumL;
            var thisScale = (sumW * sumXL - sumX * sumL) / det;
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            var positive = Vector256.GreaterThan(thisMin, zero);
            thisMin = Vector256.ConditionalSelect(positive, zero, thisMin);
            thisScale = Vector256.ConditionalSelect(positive, sumXL / sumL2, thisScale);
            var error = zero;
            for (int i = 0; i < n; i++)
            {
                var diff = thisScale * Vector256.ConvertToSingle(trial[i]) + thisMin - xt[i];
                error += wt[i] * (diff * diff);
            }
            var better = Vector256.GreaterThan(det, zero) & Vector256.LessThan(error, bestError);
            if (better == Vector256<float>.Zero) continue;
            var take = better.AsInt32();
            for (int i = 0; i < n; i++) best[i] = Vector256.ConditionalSelect(take, trial[i], best[i]);
            bestError = Vector256.ConditionalSelect(better, error, bestError);
            scale = Vector256.ConditionalSelect(better, thisScale, scale);
            min = Vector256.ConditionalSelect(better, thisMin, min);
        }
        // A group of equal values (max = min after clamping min to ≤ 0): levels 0, scale 0, as the scalar fit returns early.
        scale = Vector256.ConditionalSelect(flat, zero, scale);
        (-Vector256.ConditionalSelect(flat, flatMin, min)).Store(negatedMins);
        scale.Store(scales);
        var flatInt = flat.AsInt32();
        for (int i = 0; i < n; i++)
        {
            var l = Vector256.AndNot(best[i], flatInt);
            for (int j = 0; j < 8; j++) levels[n * j + i] = (byte)l.GetElement(j);
        }
    }

    /// <summary>
    /// <see cref="KQuantFit.SymmetricScale"/> of the eight groups of 16 values at x[16·j …]: levels (+nmax) into
    /// levels[16·j …], scales[j].
    /// </summary>
    public static void SymmetricScale8(int nmax, float* x, sbyte* levels, float* scales)
    {
        const int n = 16;
        var xt = stackalloc Vector256<float>[n];
        var best = stackalloc Vector256<int>[n];
        var trial = stackalloc Vector256<int>[n];
        Transpose(x, xt, n);
        var zero = Vector256<float>.Zero;
        var low = Vector256.Create(-nmax);
        var high = Vector256.Create(nmax - 1);
        var offset = Vector256.Create(nmax);

        Vector256<float> amax = zero, max = zero;
        for (int i = 0; i < n; i++)
        {
            var ax = Vector256.Abs(xt[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Vector256.ConditionalSelect(larger, ax, amax);
            max = Vector256.ConditionalSelect(larger, xt[i], max);
        }
        var allZero = Vector256.LessThan(amax, Vector256.Create(KQuantFit.GroupMaxEps));
        var iscale = Vector256.Create((float)-nmax) / max;
        Vector256<float> sumLX = zero, sumL2 = zero;
        for (int i = 0; i < n; i++)
        {
            var l = Clamp(NearestInt(iscale * xt[i]), low, high);
            best[i] = l + offset;
            var fl = Vector256.ConvertToSingle(l);
            var w = xt[i] * xt[i];
            sumLX += w * xt[i] * fl;
            sumL2 += w * fl * fl;
        }
        var scale = Vector256.ConditionalSelect(Vector256.Equals(sumL2, zero), zero, sumLX / sumL2);
        var bestFit = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0) continue;
            var stepScale = Vector256.Create(-(nmax + 0.1f * step)) / max;
            sumLX = sumL2 = zero;
            for (int i = 0; i < n; i++)
            {
                var l = Clamp(NearestInt(stepScale * xt[i]), low, high);
                trial[i] = l + offset;
                var fl = Vector256.ConvertToSingle(l);
                var w = xt[i] * xt[i];
                sumLX += w * xt[i] * fl;
                sumL2 += w * fl * fl;
            }
            var better = Vector256.GreaterThan(sumL2, zero) & Vector256.GreaterThan(sumLX * sumLX, bestFit * sumL2);
            if (better == Vector256<float>.Zero) continue;
            var take = better.AsInt32();
            for (int i = 0; i < n; i++) best[i] = Vector256.ConditionalSelect(take, trial[i], best[i]);
            scale = Vector256.ConditionalSelect(better, sumLX / sumL2, scale);
            bestFit = Vector256.ConditionalSelect(better, scale * sumLX, bestFit);
        }
        // A group whose largest magnitude is below GROUP_MAX_EPS: levels 0, scale 0.
        Vector256.ConditionalSelect(allZero, zero, scale).Store(scales);
        var allZeroInt = allZero.AsInt32();
        for (int i = 0; i < n; i++)
        {
            var l = Vector256.AndNot(best[i], allZeroInt);
            for (int j = 0; j < 8; j++) levels[n * j + i] = (sbyte)l.GetElement(j);
        }
    }

    /// <summary>ggml's nearest_int per lane: the mantissa bits of v + 1.5·2²³, re-centred.</summary>
    private static Vector256<int> NearestInt(Vector256<float> v) =>
        ((v + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007FFFFF)) - Vector256.Create(0x00400000);

    private static Vector256<int> Clamp(Vector256<int> v, Vector256<int> low, Vector256<int> high) => Vector256.Max(low, Vector256.Min(high, v));

    /// <summary>destination[i] = (source[i], source[n + i], …, source[7n + i]): element i of each of eight groups of n.</summary>
    private static void Transpose(float* source, Vector256<float>* destination, int n)
    {
        for (int i = 0; i < n; i++)
            destination[i] = Vector256.Create(source[i], source[n + i], source[2 * n + i], source[3 * n + i],
                source[4 * n + i], source[5 * n + i], source[6 * n + i], source[7 * n + i]);
    }
}
