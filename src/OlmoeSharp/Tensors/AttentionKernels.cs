using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors;

/// <summary>
/// The two inner loops of attention over a head's cached keys and values (rows of <c>headDim</c> floats, one per
/// position). Four positions per step: the query chunk or output chunk is loaded once for four rows, where a
/// TensorPrimitives call per position paid a call and a horizontal sum per 128 values — most of the attention time
/// on long prompts. 512- and 256-bit paths (the AVX2 one made decode at 1024 context on AVX2-only CPUs fall behind
/// llama.cpp's when it was missing); other widths and head sizes take TensorPrimitives per position.
/// </summary>
internal static class AttentionKernels
{
    /// <summary>scores[t] = scale · (q · keys[t]) for t in [0, scores.Length).</summary>
    public static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, float scale, Span<float> scores)
    {
        int hd = q.Length, count = scores.Length;
        if (keys.Length < (long)count * hd) throw new ArgumentException("keys is shorter than positions × head_dim.", nameof(keys));
        int t = 0;
        if (SimdWidth.Use512 && hd % 16 == 0)
        {
            ref float qRef = ref MemoryMarshal.GetReference(q);
            ref float kRef = ref MemoryMarshal.GetReference(keys);
            for (; t + 4 <= count; t += 4)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                nint row = (nint)t * hd;
                for (nint c = 0; c < hd; c += 16)
                {
                    var qv = Vector512.LoadUnsafe(ref qRef, (nuint)c);
                    a0 = Vector512.FusedMultiplyAdd(qv, Vector512.LoadUnsafe(ref kRef, (nuint)(row + c)), a0);
                    a1 = Vector512.FusedMultiplyAdd(qv, Vector512.LoadUnsafe(ref kRef, (nuint)(row + hd + c)), a1);
                    a2 = Vector512.FusedMultiplyAdd(qv, Vector512.LoadUnsafe(ref kRef, (nuint)(row + 2 * hd + c)), a2);
                    a3 = Vector512.FusedMultiplyAdd(qv, Vector512.LoadUnsafe(ref kRef, (nuint)(row + 3 * hd + c)), a3);
                }
                var lanes = MatMul.SumLanesOfFour(a0, a1, a2, a3);
                var halves = lanes.GetLower() + lanes.GetUpper();
                ((halves.GetLower() + halves.GetUpper()) * scale).CopyTo(scores.Slice(t, 4));
            }
        }
        else if (SimdWidth.Use256 && Avx.IsSupported && hd % 8 == 0)
        {
            ref float qRef = ref MemoryMarshal.GetReference(q);
            ref float kRef = ref MemoryMarshal.GetReference(keys);
            for (; t + 4 <= count; t += 4)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                nint row = (nint)t * hd;
                for (nint c = 0; c < hd; c += 8)
                {
                    var qv = Vector256.LoadUnsafe(ref qRef, (nuint)c);
                    a0 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(row + c)), a0);
                    a1 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(row + hd + c)), a1);
                    a2 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(row + 2 * hd + c)), a2);
                    a3 = Vector256.FusedMultiplyAdd(qv, Vector256.LoadUnsafe(ref kRef, (nuint)(row + 3 * hd + c)), a3);
                }
                (MatMul.SumLanesOfFour(a0, a1, a2, a3) * scale).CopyTo(scores.Slice(t, 4));
            }
        }
        for (; t < count; t++) scores[t] = TensorPrimitives.Dot(q, keys.Slice(t * hd, hd)) * scale;
    }

    /// <summary>output = Σ_t weights[t] · values[t] over t in [0, weights.Length).</summary>
    public static void WeightedSum(ReadOnlySpan<float> weights, ReadOnlySpan<float> values, Span<float> output)
    {
        int hd = output.Length, count = weights.Length;
        if (values.Length < (long)count * hd) throw new ArgumentException("values is shorter than positions × head_dim.", nameof(values));
        output.Clear();
        int t = 0;
        if (SimdWidth.Use512 && hd % 16 == 0)
        {
            ref float vRef = ref MemoryMarshal.GetReference(values);
            ref float oRef = ref MemoryMarshal.GetReference(output);
            for (; t + 4 <= count; t += 4)
            {
                var w0 = Vector512.Create(weights[t]);
                var w1 = Vector512.Create(weights[t + 1]);
                var w2 = Vector512.Create(weights[t + 2]);
                var w3 = Vector512.Create(weights[t + 3]);
                nint row = (nint)t * hd;
                for (nint c = 0; c < hd; c += 16)
                {
                    var sum = Vector512.LoadUnsafe(ref oRef, (nuint)c);
                    sum = Vector512.FusedMultiplyAdd(w0, Vector512.LoadUnsafe(ref vRef, (nuint)(row + c)), sum);
                    sum = Vector512.FusedMultiplyAdd(w1, Vector512.LoadUnsafe(ref vRef, (nuint)(row + hd + c)), sum);
                    sum = Vector512.FusedMultiplyAdd(w2, Vector512.LoadUnsafe(ref vRef, (nuint)(row + 2 * hd + c)), sum);
                    sum = Vector512.FusedMultiplyAdd(w3, Vector512.LoadUnsafe(ref vRef, (nuint)(row + 3 * hd + c)), sum);
                    sum.StoreUnsafe(ref oRef, (nuint)c);
                }
            }
        }
        else if (SimdWidth.Use256 && hd % 8 == 0)
        {
            ref float vRef = ref MemoryMarshal.GetReference(values);
            ref float oRef = ref MemoryMarshal.GetReference(output);
            for (; t + 4 <= count; t += 4)
            {
                var w0 = Vector256.Create(weights[t]);
                var w1 = Vector256.Create(weights[t + 1]);
                var w2 = Vector256.Create(weights[t + 2]);
                var w3 = Vector256.Create(weights[t + 3]);
                nint row = (nint)t * hd;
                for (nint c = 0; c < hd; c += 8)
                {
                    var sum = Vector256.LoadUnsafe(ref oRef, (nuint)c);
                    sum = Vector256.FusedMultiplyAdd(w0, Vector256.LoadUnsafe(ref vRef, (nuint)(row + c)), sum);
                    sum = Vector256.FusedMultiplyAdd(w1, Vector256.LoadUnsafe(ref vRef, (nuint)(row + hd + c)), sum);
                    sum = Vector256.FusedMultiplyAdd(w2, Vector256.LoadUnsafe(ref vRef, (nuint)(row + 2 * hd + c)), sum);
                    sum = Vector256.FusedMultiplyAdd(w3, Vector256.LoadUnsafe(ref vRef, (nuint)(row + 3 * hd + c)), sum);
                    sum.StoreUnsafe(ref oRef, (nuint)c);
                }
            }
        }
        for (; t < count; t++) TensorPrimitives.MultiplyAdd(values.Slice(t * hd, hd), weights[t], output, output);
    }

    /// <summary>
    /// scores[t] = scale · (q · keys[t]) over a bf16 cache (<see cref="KvCachePrecision.BFloat16"/>): each 8-value
    /// chunk of a key row widened by a zero-extend and a shift. Portable 128-bit vectors: at these sizes attention
    /// is a few percent of a token's work, and half the bytes is what the bf16 cache is for.
    /// </summary>
    public static void Scores(ReadOnlySpan<float> q, ReadOnlySpan<ushort> keys, float scale, Span<float> scores)
    {
        int hd = q.Length, count = scores.Length;
        if (keys.Length < (long)count * hd) throw new ArgumentException("keys is shorter than positions × head_dim.", nameof(keys));
        bool vector = SimdWidth.Use128 && hd % 8 == 0;
        ref float qRef = ref MemoryMarshal.GetReference(q);
        ref ushort kRef = ref MemoryMarshal.GetReference(keys);
        for (int t = 0; t < count; t++)
        {
            nint row = (nint)t * hd;
            float sum = 0;
            if (vector)
            {
                Vector128<float> a0 = default, a1 = default;
                for (nint c = 0; c < hd; c += 8)
                {
                    var raw = Vector128.LoadUnsafe(ref kRef, (nuint)(row + c));
                    a0 = Vector128.FusedMultiplyAdd((Vector128.WidenLower(raw) << 16).AsSingle(), Vector128.LoadUnsafe(ref qRef, (nuint)c), a0);
                    a1 = Vector128.FusedMultiplyAdd((Vector128.WidenUpper(raw) << 16).AsSingle(), Vector128.LoadUnsafe(ref qRef, (nuint)(c + 4)), a1);
                }
                sum = Vector128.Sum(a0 + a1);
            }
            else
            {
                for (int c = 0; c < hd; c++) sum += q[c] * BFloat16Kernels.ToSingle(keys[(int)row + c]);
            }
            scores[t] = sum * scale;
        }
    }

    /// <summary>output = Σ_t weights[t] · values[t] over a bf16 cache (see the bf16 <see cref="Scores(ReadOnlySpan{float}, ReadOnlySpan{ushort}, float, Span{float})"/>).</summary>
    public static void WeightedSum(ReadOnlySpan<float> weights, ReadOnlySpan<ushort> values, Span<float> output)
    {
        int hd = output.Length, count = weights.Length;
        if (values.Length < (long)count * hd) throw new ArgumentException("values is shorter than positions × head_dim.", nameof(values));
        output.Clear();
        bool vector = SimdWidth.Use128 && hd % 8 == 0;
        ref ushort vRef = ref MemoryMarshal.GetReference(values);
        ref float oRef = ref MemoryMarshal.GetReference(output);
        for (int t = 0; t < count; t++)
        {
            nint row = (nint)t * hd;
            if (vector)
            {
                var w = Vector128.Create(weights[t]);
                for (nint c = 0; c < hd; c += 8)
                {
                    var raw = Vector128.LoadUnsafe(ref vRef, (nuint)(row + c));
                    Vector128.FusedMultiplyAdd(w, (Vector128.WidenLower(raw) << 16).AsSingle(), Vector128.LoadUnsafe(ref oRef, (nuint)c)).StoreUnsafe(ref oRef, (nuint)c);
                    Vector128.FusedMultiplyAdd(w, (Vector128.WidenUpper(raw) << 16).AsSingle(), Vector128.LoadUnsafe(ref oRef, (nuint)(c + 4))).StoreUnsafe(ref oRef, (nuint)(c + 4));
                }
            }
            else
            {
                for (int c = 0; c < hd; c++) output[c] += weights[t] * BFloat16Kernels.ToSingle(values[(int)row + c]);
            }
        }
    }
}
