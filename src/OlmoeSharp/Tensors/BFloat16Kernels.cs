using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors;

/// <summary>
/// Kernels over bfloat16 data with float32 arithmetic. A bf16 value is the upper 16 bits of an IEEE single, so
/// widening is a zero-extend and a 16-bit left shift: exact, and cheap enough that a matrix-vector product stays
/// bound by memory bandwidth. Each kernel has Vector512, Vector256, Vector128 and scalar paths; the widest one the
/// hardware accelerates is taken, the scalar tail finishes any remainder.
/// </summary>
internal static unsafe class BFloat16Kernels
{
    /// <summary>Widens one bf16 value to float32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Rounds a float32 to the nearest bf16, ties to even (NaN stays NaN).</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>dst[i] = bf16(src[i]), rounded to nearest even (a KV cache row: a few hundred values, so scalar is enough).</summary>
    public static void Narrow(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination too short", nameof(dst));
        for (int i = 0; i < src.Length; i++) dst[i] = FromSingle(src[i]);
    }

    /// <summary>dst[i] = (float)src[i] for i &lt; n.</summary>
    public static void Widen(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (SimdWidth.Use512)
        {
            for (; i <= n - 32; i += 32)
            {
                var raw = Vector512.Load(src + i);
                Vector512.ShiftLeft(Vector512.WidenLower(raw), 16).AsSingle().Store(dst + i);
                Vector512.ShiftLeft(Vector512.WidenUpper(raw), 16).AsSingle().Store(dst + i + 16);
            }
        }
        else if (SimdWidth.Use256)
        {
            for (; i <= n - 16; i += 16)
            {
                var raw = Vector256.Load(src + i);
                Vector256.ShiftLeft(Vector256.WidenLower(raw), 16).AsSingle().Store(dst + i);
                Vector256.ShiftLeft(Vector256.WidenUpper(raw), 16).AsSingle().Store(dst + i + 8);
            }
        }
        else if (SimdWidth.Use128)
        {
            for (; i <= n - 8; i += 8)
            {
                var raw = Vector128.Load(src + i);
                Vector128.ShiftLeft(Vector128.WidenLower(raw), 16).AsSingle().Store(dst + i);
                Vector128.ShiftLeft(Vector128.WidenUpper(raw), 16).AsSingle().Store(dst + i + 4);
            }
        }
        for (; i < n; i++) dst[i] = ToSingle(src[i]);
    }

    /// <summary>Σ w[i]·x[i] over i &lt; n, w in bf16, x and the sum in float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it
    public static float Dot(ushort* w, float* x, int n)
    {
        float sum = 0;
        int i = 0;
        if (SimdWidth.Use512 && n >= 32)
        {
            Vector512<float> a0 = default, a1 = default;
            for (; i <= n - 32; i += 32)
            {
                var raw = Vector512.Load(w + i);
                a0 = Vector512.FusedMultiplyAdd(Lo(raw), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(Hi(raw), Vector512.Load(x + i + 16), a1);
            }
            sum = Vector512.Sum(a0 + a1);
        }
        else if (SimdWidth.Use256 && n >= 16)
        {
            Vector256<float> a0 = default, a1 = default;
            for (; i <= n - 16; i += 16)
            {
                var raw = Vector256.Load(w + i);
                a0 = Vector256.FusedMultiplyAdd(Lo(raw), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Hi(raw), Vector256.Load(x + i + 8), a1);
            }
            sum = Vector256.Sum(a0 + a1);
        }
        else if (SimdWidth.Use128 && n >= 8)
        {
            Vector128<float> a0 = default, a1 = default;
            for (; i <= n - 8; i += 8)
            {
                var raw = Vector128.Load(w + i);
                a0 = Vector128.FusedMultiplyAdd(Lo(raw), Vector128.Load(x + i), a0);
                a1 = Vector128.FusedMultiplyAdd(Hi(raw), Vector128.Load(x + i + 4), a1);
            }
            sum = Vector128.Sum(a0 + a1);
        }
        for (; i < n; i++) sum += ToSingle(w[i]) * x[i];
        return sum;
    }

    /// <summary>
    /// Four dot products of four bf16 rows (each <paramref name="stride"/> elements apart) with the same x.
    /// Sharing the loads of x across rows keeps the loop bound by the weight stream alone. While it reads these
    /// rows it prefetches the same offsets of the next four: the hardware prefetcher stops at every 4 KiB page
    /// (one bf16 row of d = 2048), and restarting four streams per page costs a fifth of the bandwidth. Prefetching
    /// past the end of a mapping is harmless: prefetches never fault. The prefetches go to L2, not L1: a mat-vec
    /// computes far faster than its bytes arrive, and prefetches into L1 are capped by its few fill buffers — on an
    /// AMD EPYC (Zen 4) they held four-row reading to 14 GB/s on one core where one plain stream reached 22, and into
    /// L2 it reads at the plain stream's speed (decode 9.1 → 12–16 tok/s).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it
    public static void Dot4(ushort* w, long stride, float* x, int n, float* result)
    {
        ushort* w0 = w, w1 = w + stride, w2 = w + 2 * stride, w3 = w + 3 * stride;
        long ahead = 4 * stride;
        bool prefetch = Sse.IsSupported;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        if (SimdWidth.Use512 && n >= 32)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                if (prefetch) Prefetch4(w0 + i + ahead, stride);
                var xl = Vector512.Load(x + i);
                var xh = Vector512.Load(x + i + 16);
                var r0 = Vector512.Load(w0 + i);
                var r1 = Vector512.Load(w1 + i);
                var r2 = Vector512.Load(w2 + i);
                var r3 = Vector512.Load(w3 + i);
                a0 = Vector512.FusedMultiplyAdd(Hi(r0), xh, Vector512.FusedMultiplyAdd(Lo(r0), xl, a0));
                a1 = Vector512.FusedMultiplyAdd(Hi(r1), xh, Vector512.FusedMultiplyAdd(Lo(r1), xl, a1));
                a2 = Vector512.FusedMultiplyAdd(Hi(r2), xh, Vector512.FusedMultiplyAdd(Lo(r2), xl, a2));
                a3 = Vector512.FusedMultiplyAdd(Hi(r3), xh, Vector512.FusedMultiplyAdd(Lo(r3), xl, a3));
            }
            s0 = Vector512.Sum(a0); s1 = Vector512.Sum(a1); s2 = Vector512.Sum(a2); s3 = Vector512.Sum(a3);
        }
        else if (SimdWidth.Use256 && n >= 16)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 16; i += 16)
            {
                if (prefetch && (i & 31) == 0) Prefetch4(w0 + i + ahead, stride);
                var xl = Vector256.Load(x + i);
                var xh = Vector256.Load(x + i + 8);
                var r0 = Vector256.Load(w0 + i);
                var r1 = Vector256.Load(w1 + i);
                var r2 = Vector256.Load(w2 + i);
                var r3 = Vector256.Load(w3 + i);
                a0 = Vector256.FusedMultiplyAdd(Hi(r0), xh, Vector256.FusedMultiplyAdd(Lo(r0), xl, a0));
                a1 = Vector256.FusedMultiplyAdd(Hi(r1), xh, Vector256.FusedMultiplyAdd(Lo(r1), xl, a1));
                a2 = Vector256.FusedMultiplyAdd(Hi(r2), xh, Vector256.FusedMultiplyAdd(Lo(r2), xl, a2));
                a3 = Vector256.FusedMultiplyAdd(Hi(r3), xh, Vector256.FusedMultiplyAdd(Lo(r3), xl, a3));
            }
            s0 = Vector256.Sum(a0); s1 = Vector256.Sum(a1); s2 = Vector256.Sum(a2); s3 = Vector256.Sum(a3);
        }
        for (; i < n; i++)
        {
            float xi = x[i];
            s0 += ToSingle(w0[i]) * xi;
            s1 += ToSingle(w1[i]) * xi;
            s2 += ToSingle(w2[i]) * xi;
            s3 += ToSingle(w3[i]) * xi;
        }
        result[0] = s0; result[1] = s1; result[2] = s2; result[3] = s3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch4(ushort* p, long stride)
    {
        Sse.Prefetch1(p);
        Sse.Prefetch1(p + stride);
        Sse.Prefetch1(p + 2 * stride);
        Sse.Prefetch1(p + 3 * stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lo(Vector512<ushort> raw) => Vector512.ShiftLeft(Vector512.WidenLower(raw), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Hi(Vector512<ushort> raw) => Vector512.ShiftLeft(Vector512.WidenUpper(raw), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lo(Vector256<ushort> raw) => Vector256.ShiftLeft(Vector256.WidenLower(raw), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Hi(Vector256<ushort> raw) => Vector256.ShiftLeft(Vector256.WidenUpper(raw), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Lo(Vector128<ushort> raw) => Vector128.ShiftLeft(Vector128.WidenLower(raw), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Hi(Vector128<ushort> raw) => Vector128.ShiftLeft(Vector128.WidenUpper(raw), 16).AsSingle();
}
