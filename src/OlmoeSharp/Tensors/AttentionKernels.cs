using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors;

/// <summary>
/// The two inner loops of attention over a head's cached keys and values (rows of <c>headDim</c> values, one per
/// position, float32 or bf16 — <see cref="KvCachePrecision"/>). Four positions per step: the query chunk or output
/// chunk is loaded once for four rows, where a call per position paid a call and a horizontal sum per 128 values —
/// most of the attention time on long prompts. 512-, 256- and 128-bit paths for both element types (without the AVX2
/// one decode at 1024 context on AVX2-only CPUs fell behind llama.cpp's; with bf16 rows read one at a time in 128-bit
/// vectors the bf16 cache decoded slower than float32 although it reads half the bytes); the last positions of a
/// count not divisible by four, and head sizes the vectors do not divide, take one position at a time.
/// </summary>
internal static unsafe class AttentionKernels
{
    /// <summary>scores[t] = scale · (q · keys[t]) for t in [0, scores.Length).</summary>
    public static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, float scale, Span<float> scores)
    {
        int hd = q.Length;
        for (int t = Scores<float, Float32Rows>(q, keys, scale, scores); t < scores.Length; t++)
            scores[t] = TensorPrimitives.Dot(q, keys.Slice(t * hd, hd)) * scale;
    }

    /// <summary>output = Σ_t weights[t] · values[t] over t in [0, weights.Length).</summary>
    public static void WeightedSum(ReadOnlySpan<float> weights, ReadOnlySpan<float> values, Span<float> output)
    {
        int hd = output.Length;
        for (int t = WeightedSum<float, Float32Rows>(weights, values, output); t < weights.Length; t++)
            TensorPrimitives.MultiplyAdd(values.Slice(t * hd, hd), weights[t], output, output);
    }

    /// <summary>scores[t] = scale · (q · keys[t]) over a bf16 cache (<see cref="KvCachePrecision.BFloat16"/>).</summary>
    public static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<ushort> keys, float scale, Span<float> scores)
    {
        int hd = q.Length;
        for (int t = Scores<ushort, BFloat16Rows>(q, keys, scale, scores); t < scores.Length; t++)
        {
            float sum = 0;
            for (int c = 0; c < hd; c++) sum += q[c] * BFloat16Kernels.ToSingle(keys[t * hd + c]);
            scores[t] = sum * scale;
        }
    }

    /// <summary>output = Σ_t weights[t] · values[t] over a bf16 cache.</summary>
    public static void WeightedSum(ReadOnlySpan<float> weights, ReadOnlySpan<ushort> values, Span<float> output)
    {
        int hd = output.Length;
        for (int t = WeightedSum<ushort, BFloat16Rows>(weights, values, output); t < weights.Length; t++)
            for (int c = 0; c < hd; c++) output[c] += weights[t] * BFloat16Kernels.ToSingle(values[t * hd + c]);
    }

    /// <summary>Scores of the positions the vector paths cover, four at a time; returns how many (the caller does the rest).</summary>
    private static int Scores<T, TRows>(ReadOnlySpan<float> q, ReadOnlySpan<T> keys, float scale, Span<float> scores)
        where T : unmanaged where TRows : struct, IRowElements<T>
    {
        int hd = q.Length, count = scores.Length;
        if (keys.Length < (long)count * hd) throw new ArgumentException("keys is shorter than positions × head_dim.", nameof(keys));
        int t = 0;
        fixed (float* pq = q)
        fixed (T* pk = keys)
        {
            if (SimdWidth.Use512 && TRows.Supports512 && hd % 16 == 0)
            {
                for (; t + 4 <= count; t += 4)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    T* row = pk + (nint)t * hd;
                    for (int c = 0; c < hd; c += 16)
                    {
                        var qv = Vector512.Load(pq + c);
                        a0 = Vector512.FusedMultiplyAdd(qv, TRows.Load512(row + c), a0);
                        a1 = Vector512.FusedMultiplyAdd(qv, TRows.Load512(row + hd + c), a1);
                        a2 = Vector512.FusedMultiplyAdd(qv, TRows.Load512(row + 2 * hd + c), a2);
                        a3 = Vector512.FusedMultiplyAdd(qv, TRows.Load512(row + 3 * hd + c), a3);
                    }
                    var lanes = MatMul.SumLanesOfFour(a0, a1, a2, a3);
                    var halves = lanes.GetLower() + lanes.GetUpper();
                    ((halves.GetLower() + halves.GetUpper()) * scale).CopyTo(scores.Slice(t, 4));
                }
            }
            else if (SimdWidth.Use256 && TRows.Supports256 && hd % 8 == 0)
            {
                for (; t + 4 <= count; t += 4)
                {
                    Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    T* row = pk + (nint)t * hd;
                    for (int c = 0; c < hd; c += 8)
                    {
                        var qv = Vector256.Load(pq + c);
                        a0 = Vector256.FusedMultiplyAdd(qv, TRows.Load256(row + c), a0);
                        a1 = Vector256.FusedMultiplyAdd(qv, TRows.Load256(row + hd + c), a1);
                        a2 = Vector256.FusedMultiplyAdd(qv, TRows.Load256(row + 2 * hd + c), a2);
                        a3 = Vector256.FusedMultiplyAdd(qv, TRows.Load256(row + 3 * hd + c), a3);
                    }
                    (MatMul.SumLanesOfFour(a0, a1, a2, a3) * scale).CopyTo(scores.Slice(t, 4));
                }
            }
            else if (SimdWidth.Use128 && hd % 4 == 0)
            {
                for (; t + 4 <= count; t += 4)
                {
                    Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    T* row = pk + (nint)t * hd;
                    for (int c = 0; c < hd; c += 4)
                    {
                        var qv = Vector128.Load(pq + c);
                        a0 = Vector128.FusedMultiplyAdd(qv, TRows.Load128(row + c), a0);
                        a1 = Vector128.FusedMultiplyAdd(qv, TRows.Load128(row + hd + c), a1);
                        a2 = Vector128.FusedMultiplyAdd(qv, TRows.Load128(row + 2 * hd + c), a2);
                        a3 = Vector128.FusedMultiplyAdd(qv, TRows.Load128(row + 3 * hd + c), a3);
                    }
                    scores[t] = Vector128.Sum(a0) * scale;
                    scores[t + 1] = Vector128.Sum(a1) * scale;
                    scores[t + 2] = Vector128.Sum(a2) * scale;
                    scores[t + 3] = Vector128.Sum(a3) * scale;
                }
            }
        }
        return t;
    }

    /// <summary>The weighted sum over the positions the vector paths cover, four at a time; clears output first, returns how many.</summary>
    private static int WeightedSum<T, TRows>(ReadOnlySpan<float> weights, ReadOnlySpan<T> values, Span<float> output)
        where T : unmanaged where TRows : struct, IRowElements<T>
    {
        int hd = output.Length, count = weights.Length;
        if (values.Length < (long)count * hd) throw new ArgumentException("values is shorter than positions × head_dim.", nameof(values));
        output.Clear();
        int t = 0;
        fixed (float* po = output)
        fixed (T* pv = values)
        {
            if (SimdWidth.Use512 && TRows.Supports512 && hd % 16 == 0)
            {
                for (; t + 4 <= count; t += 4)
                {
                    var w0 = Vector512.Create(weights[t]);
                    var w1 = Vector512.Create(weights[t + 1]);
                    var w2 = Vector512.Create(weights[t + 2]);
                    var w3 = Vector512.Create(weights[t + 3]);
                    T* row = pv + (nint)t * hd;
                    for (int c = 0; c < hd; c += 16)
                    {
                        var sum = Vector512.Load(po + c);
                        sum = Vector512.FusedMultiplyAdd(w0, TRows.Load512(row + c), sum);
                        sum = Vector512.FusedMultiplyAdd(w1, TRows.Load512(row + hd + c), sum);
                        sum = Vector512.FusedMultiplyAdd(w2, TRows.Load512(row + 2 * hd + c), sum);
                        sum = Vector512.FusedMultiplyAdd(w3, TRows.Load512(row + 3 * hd + c), sum);
                        sum.Store(po + c);
                    }
                }
            }
            else if (SimdWidth.Use256 && TRows.Supports256 && hd % 8 == 0)
            {
                for (; t + 4 <= count; t += 4)
                {
                    var w0 = Vector256.Create(weights[t]);
                    var w1 = Vector256.Create(weights[t + 1]);
                    var w2 = Vector256.Create(weights[t + 2]);
                    var w3 = Vector256.Create(weights[t + 3]);
                    T* row = pv + (nint)t * hd;
                    for (int c = 0; c < hd; c += 8)
                    {
                        var sum = Vector256.Load(po + c);
                        sum = Vector256.FusedMultiplyAdd(w0, TRows.Load256(row + c), sum);
                        sum = Vector256.FusedMultiplyAdd(w1, TRows.Load256(row + hd + c), sum);
                        sum = Vector256.FusedMultiplyAdd(w2, TRows.Load256(row + 2 * hd + c), sum);
                        sum = Vector256.FusedMultiplyAdd(w3, TRows.Load256(row + 3 * hd + c), sum);
                        sum.Store(po + c);
                    }
                }
            }
            else if (SimdWidth.Use128 && hd % 4 == 0)
            {
                for (; t + 4 <= count; t += 4)
                {
                    var w0 = Vector128.Create(weights[t]);
                    var w1 = Vector128.Create(weights[t + 1]);
                    var w2 = Vector128.Create(weights[t + 2]);
                    var w3 = Vector128.Create(weights[t + 3]);
                    T* row = pv + (nint)t * hd;
                    for (int c = 0; c < hd; c += 4)
                    {
                        var sum = Vector128.Load(po + c);
                        sum = Vector128.FusedMultiplyAdd(w0, TRows.Load128(row + c), sum);
                        sum = Vector128.FusedMultiplyAdd(w1, TRows.Load128(row + hd + c), sum);
                        sum = Vector128.FusedMultiplyAdd(w2, TRows.Load128(row + 2 * hd + c), sum);
                        sum = Vector128.FusedMultiplyAdd(w3, TRows.Load128(row + 3 * hd + c), sum);
                        sum.Store(po + c);
                    }
                }
            }
        }
        return t;
    }

    /// <summary>How a cache row's elements load as float32 vectors.</summary>
    private interface IRowElements<T> where T : unmanaged
    {
        static abstract bool Supports512 { get; }
        static abstract bool Supports256 { get; }
        static abstract Vector512<float> Load512(T* p);
        static abstract Vector256<float> Load256(T* p);
        static abstract Vector128<float> Load128(T* p);
    }

    private readonly struct Float32Rows : IRowElements<float>
    {
        public static bool Supports512 => true;
        public static bool Supports256 => Avx.IsSupported;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load512(float* p) => Vector512.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load256(float* p) => Vector256.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load128(float* p) => Vector128.Load(p);
    }

    /// <summary>bf16 widened by a zero-extending load (vpmovzxwd on x86) and a shift: two instructions per vector, no shuffle.</summary>
    private readonly struct BFloat16Rows : IRowElements<ushort>
    {
        public static bool Supports512 => Avx512F.IsSupported;
        public static bool Supports256 => Avx2.IsSupported;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load512(ushort* p) => (Avx512F.ConvertToVector512UInt32(Vector256.Load(p)) << 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load256(ushort* p) => (Avx2.ConvertToVector256Int32(p).AsUInt32() << 16).AsSingle();
        /// <summary>Four values, read as one 64-bit scalar so the last row's last chunk reads nothing past it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Load128(ushort* p) => (Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)p).AsUInt16()) << 16).AsSingle();
    }
}
