using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// A vector x quantized to int16 in blocks of 32, as the integer dot products of the ggml formats take it: per
/// block a float scale d = max|x| / 32767 and q = round(x / d), so x ≈ d·q within 1.5e-5 of the block's largest
/// value, plus d·Σq (for the formats whose values carry an offset or a minimum). Not int8, as ggml's q8_0 / q8_K:
/// rounding x to 8 bits moves the logits by 1–2% of the largest, enough to flip a near-tied expert choice of the
/// router and with it a token's output — on the golden Q4_K_M model one position moved 2.7× further from the exact
/// model than the rule allows. At 16 bits the integer kernels stay as close to exact as float ones. The buffers are
/// the calling thread's and are reused: quantizing allocates nothing once warm.
/// </summary>
internal sealed unsafe class Int16Activations
{
    public const int Block = 32;

    [ThreadStatic] private static Int16Activations? t_current;

    private short[] _values = [];
    private float[] _scales = [];
    private float[] _sums = [];
    private int[] _halfSums = [];

    /// <summary>The x the buffers hold, bit for bit (its first <see cref="_sourceLength"/> values).</summary>
    private float[] _source = [];
    private int _sourceLength = -1;

    /// <summary>q, in the order of x.</summary>
    public short* Values { get; private set; }

    /// <summary>d per block.</summary>
    public float* Scales { get; private set; }

    /// <summary>d·Σq per block: the block's sum as the quantized values represent it.</summary>
    public float* Sums { get; private set; }

    /// <summary>Σq per 16 values, as integers: what a format with 16-value sub-blocks and an offset on its quants subtracts (<see cref="Q6_KInterleaved"/>).</summary>
    public int* HalfSums { get; private set; }

    /// <summary>The calling thread's buffers holding <paramref name="x"/>[0..n) quantized (n a multiple of 32), valid until the thread quantizes again.</summary>
    public static Int16Activations Quantize(float* x, int n)
    {
        var a = t_current ??= new Int16Activations();
        a.Fill(x, n);
        return a;
    }

    /// <summary>
    /// These buffers := <paramref name="x"/>[0..n) quantized (n a multiple of 32). When x holds the same bits as the
    /// vector they hold already, nothing is done: a decode step hands every row range of every chosen expert the same
    /// token (gathered into one copy per expert, and gate and up read it each), and quantizing it afresh each time cost
    /// 4–5% of decoding; comparing 8 KB costs a tenth of that.
    /// </summary>
    public void Fill(float* x, int n)
    {
        var bits = new ReadOnlySpan<byte>(x, n * sizeof(float));
        if (_sourceLength == n && bits.SequenceEqual(MemoryMarshal.AsBytes(_source.AsSpan(0, n)))) return;
        Reserve(n);
        int blocks = n / Block;
        for (int b = 0; b < blocks; b++)
            QuantizeBlock(x + b * Block, Values + b * Block, out Scales[b], out Sums[b], HalfSums + 2 * b);
        if (_source.Length < n) _source = new float[n];
        bits.CopyTo(MemoryMarshal.AsBytes(_source.AsSpan(0, n)));
        _sourceLength = n;
    }

    /// <summary>Grows the buffers (pinned arrays, so the pointers stay valid) to hold n values.</summary>
    private void Reserve(int n)
    {
        if (_values.Length >= n) return;
        _values = GC.AllocateArray<short>(n, pinned: true);
        _scales = GC.AllocateArray<float>(n / Block, pinned: true);
        _sums = GC.AllocateArray<float>(n / Block, pinned: true);
        _halfSums = GC.AllocateArray<int>(2 * n / Block, pinned: true);
        Values = (short*)Unsafe.AsPointer(ref _values[0]);
        Scales = (float*)Unsafe.AsPointer(ref _scales[0]);
        Sums = (float*)Unsafe.AsPointer(ref _sums[0]);
        HalfSums = (int*)Unsafe.AsPointer(ref _halfSums[0]);
    }

    private static void QuantizeBlock(float* x, short* q, out float scale, out float sum, int* halfSums)
    {
        if (Avx2.IsSupported)
        {
            var magnitude = Vector256.Create(0x7FFFFFFF).AsSingle();
            var v0 = Avx.LoadVector256(x); var v1 = Avx.LoadVector256(x + 8);
            var v2 = Avx.LoadVector256(x + 16); var v3 = Avx.LoadVector256(x + 24);
            var max = Avx.Max(Avx.Max(Avx.And(v0, magnitude), Avx.And(v1, magnitude)), Avx.Max(Avx.And(v2, magnitude), Avx.And(v3, magnitude)));
            var m128 = Sse.Max(max.GetLower(), max.GetUpper());
            m128 = Sse.Max(m128, Sse.MoveHighToLow(m128, m128));
            m128 = Sse.MaxScalar(m128, Sse.Shuffle(m128, m128, 1));
            float amax = m128.ToScalar();
            var inverse = Vector256.Create(amax == 0 ? 0f : 32767f / amax);
            var i0 = Avx.ConvertToVector256Int32(Avx.Multiply(v0, inverse));
            var i1 = Avx.ConvertToVector256Int32(Avx.Multiply(v1, inverse));
            var i2 = Avx.ConvertToVector256Int32(Avx.Multiply(v2, inverse));
            var i3 = Avx.ConvertToVector256Int32(Avx.Multiply(v3, inverse));
            halfSums[0] = Sum(Avx2.Add(i0, i1));
            halfSums[1] = Sum(Avx2.Add(i2, i3));
            // packs works per 128-bit lane, giving the 64-bit quarters 0–3 of i0, 0–3 of i1, 4–7 of i0, 4–7 of i1.
            Avx2.Permute4x64(Avx2.PackSignedSaturate(i0, i1).AsInt64(), 0b11_01_10_00).AsInt16().Store(q);
            Avx2.Permute4x64(Avx2.PackSignedSaturate(i2, i3).AsInt64(), 0b11_01_10_00).AsInt16().Store(q + 16);
            scale = amax / 32767f;
            sum = scale * (halfSums[0] + halfSums[1]);
            return;
        }
        float a = 0;
        for (int j = 0; j < Block; j++) a = Math.Max(a, Math.Abs(x[j]));
        float id = a == 0 ? 0f : 32767f / a;
        halfSums[0] = halfSums[1] = 0;
        for (int j = 0; j < Block; j++)
        {
            int v = Math.Clamp((int)MathF.Round(x[j] * id, MidpointRounding.ToEven), -32768, 32767);
            q[j] = (short)v;
            halfSums[j / 16] += v;
        }
        scale = a / 32767f;
        sum = scale * (halfSums[0] + halfSums[1]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Sum(Vector256<int> v)
    {
        var t = Sse2.Add(v.GetLower(), v.GetUpper());
        t = Sse2.Add(t, Sse2.Shuffle(t, 0b01_00_11_10));
        return Sse2.Add(t, Sse2.Shuffle(t, 0b10_11_00_01)).ToScalar();
    }
}
