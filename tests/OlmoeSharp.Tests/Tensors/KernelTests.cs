using System.Runtime.InteropServices;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Tensors;

/// <summary>
/// Every kernel against a plain double-precision loop, at every length from 0 to past several vector widths so
/// each remainder tail is exercised. CI runs these again with DOTNET_EnableAVX512=0 and DOTNET_EnableHWIntrinsic=0
/// so the 256-bit and scalar paths stay right too. Tolerance: relative 1e-5 of the sum of |terms| (float32
/// accumulation in another order), which any indexing or widening error exceeds by orders of magnitude.
/// </summary>
[Trait("Category", "Kernels")]
public sealed unsafe class KernelTests
{
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 70), 95, 96, 97, 127, 128, 129, 1000, 1024, 2048, 2051];

    public static TheoryData<int> AllLengths() => new(Lengths);

    private static float[] RandomFloats(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    private static ushort[] RandomBf16(int n, int seed) => RandomFloats(n, seed).Select(BFloat16Kernels.FromSingle).ToArray();

    private static double Bf16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    private static void AssertClose(double expected, double actual, double scale, string what)
        => Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Max(scale, 1e-3), $"{what}: expected {expected}, got {actual}");

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Bf16_dot_matches_the_scalar_reference(int n)
    {
        var w = RandomBf16(n, n);
        var x = RandomFloats(n, n + 1);
        double expected = 0, scale = 0;
        for (int i = 0; i < n; i++) { expected += Bf16(w[i]) * x[i]; scale += Math.Abs(Bf16(w[i]) * x[i]); }
        fixed (ushort* pw = w) fixed (float* px = x)
            AssertClose(expected, BFloat16Kernels.Dot(pw, px, n), scale, $"n={n}");
    }

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Bf16_dot4_matches_four_scalar_dots(int n)
    {
        int stride = n + 3;
        var w = RandomBf16(4 * stride, n);
        var x = RandomFloats(n, n + 1);
        var result = new float[4];
        fixed (ushort* pw = w) fixed (float* px = x) fixed (float* pr = result)
            BFloat16Kernels.Dot4(pw, stride, px, n, pr);
        for (int r = 0; r < 4; r++)
        {
            double expected = 0, scale = 0;
            for (int i = 0; i < n; i++) { expected += Bf16(w[r * stride + i]) * x[i]; scale += Math.Abs(Bf16(w[r * stride + i]) * x[i]); }
            AssertClose(expected, result[r], scale, $"n={n} row {r}");
        }
    }

    [Theory]
    [MemberData(nameof(AllLengths))]
    public void Bf16_widening_is_exact(int n)
    {
        var w = RandomBf16(n, n);
        var dst = new float[n];
        fixed (ushort* pw = w) fixed (float* pd = dst) BFloat16Kernels.Widen(pw, pd, n);
        for (int i = 0; i < n; i++) Assert.Equal(Bf16(w[i]), dst[i]);
    }

    [Fact]
    public void Bf16_rounding_is_to_nearest_even_and_keeps_nan()
    {
        Assert.Equal(0x3F80, BFloat16Kernels.FromSingle(1f));
        Assert.Equal(0x3F80, BFloat16Kernels.FromSingle(BitConverter.Int32BitsToSingle(0x3F808000))); // tie → even
        Assert.Equal(0x3F82, BFloat16Kernels.FromSingle(BitConverter.Int32BitsToSingle(0x3F818000))); // tie → even (up)
        Assert.Equal(0x3F81, BFloat16Kernels.FromSingle(BitConverter.Int32BitsToSingle(0x3F808001)));
        Assert.True(float.IsNaN(BFloat16Kernels.ToSingle(BFloat16Kernels.FromSingle(float.NaN))));
        Assert.Equal(float.PositiveInfinity, BFloat16Kernels.ToSingle(BFloat16Kernels.FromSingle(float.PositiveInfinity)));
    }

    public static TheoryData<TensorDType, int, int> MatrixShapes()
    {
        var data = new TheoryData<TensorDType, int, int>();
        foreach (var type in new[] { TensorDType.BF16, TensorDType.F16, TensorDType.F32 })
            foreach (var (rows, cols) in new[] { (1, 1), (3, 5), (4, 16), (5, 33), (9, 64), (6, 96), (13, 100), (7, 48), (8, 2048), (10, 1024), (6, 2600) })
                data.Add(type, rows, cols);
        return data;
    }

    [Theory]
    [MemberData(nameof(MatrixShapes))]
    public void Matrix_times_vector_and_matrix_times_tokens_match_the_reference(TensorDType type, int rows, int cols)
    {
        var values = RandomFloats(rows * cols, rows * 31 + cols);
        var bytes = Encode(values, type, out var exact);
        var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        try
        {
            Assert.True(WeightFormats.TryGetStored(type, out var format));
            var w = new WeightMatrix(format, (byte*)handle.AddrOfPinnedObject(), rows, cols);
            // 130 and 257: more tokens than one product takes, multiplied in near-equal groups.
            foreach (int tokens in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 130, 257 })
            {
                var x = RandomFloats(tokens * cols, tokens);
                int ldy = rows + 2;
                var y = new float[tokens * ldy];
                // Two slices, as two threads would compute them.
                int split = rows / 2 & ~3;
                MatMul.MultiplyRows(w, x, tokens, y, ldy, 0, split);
                MatMul.MultiplyRows(w, x, tokens, y, ldy, split, rows);
                for (int t = 0; t < tokens; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        double expected = 0, scale = 0;
                        for (int k = 0; k < cols; k++) { expected += exact[r * cols + k] * x[t * cols + k]; scale += Math.Abs(exact[r * cols + k] * x[t * cols + k]); }
                        AssertClose(expected, y[t * ldy + r], scale, $"{type} {rows}x{cols} tokens={tokens} t={t} r={r}");
                    }
            }
            var single = RandomFloats(cols, 99);
            var output = new float[rows];
            MatVec.MultiplyRows(w, single, output, 0, rows);
            for (int r = 0; r < rows; r++)
            {
                double expected = 0, magnitude = 0;
                for (int k = 0; k < cols; k++) { expected += exact[r * cols + k] * single[k]; magnitude += Math.Abs(exact[r * cols + k] * single[k]); }
                AssertClose(expected, output[r], magnitude, $"{type} {rows}x{cols} mat-vec row {r}");
            }
            var widened = new float[cols];
            for (int r = 0; r < rows; r++)
            {
                MatVec.WidenRow(w, r, widened);
                for (int k = 0; k < cols; k++) Assert.Equal(exact[r * cols + k], widened[k]);
            }
        }
        finally
        {
            handle.Free();
        }
    }

    private static byte[] Encode(float[] values, TensorDType type, out double[] exact)
    {
        switch (type)
        {
            case TensorDType.BF16:
                var bf = values.Select(BFloat16Kernels.FromSingle).ToArray();
                exact = bf.Select(Bf16).ToArray();
                return MemoryMarshal.AsBytes(bf.AsSpan()).ToArray();
            case TensorDType.F16:
                var half = values.Select(v => (Half)v).ToArray();
                exact = half.Select(h => (double)h).ToArray();
                return MemoryMarshal.AsBytes(half.AsSpan()).ToArray();
            default:
                exact = values.Select(v => (double)v).ToArray();
                return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        }
    }

    [Fact]
    public void Softmax_is_stable_for_large_logits()
    {
        float[] values = [1000f, 1000f, 999f];
        VectorMath.SoftmaxInPlace(values);
        double e = Math.Exp(-1);
        Assert.Equal(1 / (2 + e), values[0], 6);
        Assert.Equal(e / (2 + e), values[2], 6);
    }

    [Fact]
    public void Top_k_orders_by_value_and_prefers_the_lower_index_on_ties()
    {
        var indices = new int[3];
        VectorMath.TopK([0.1f, 0.4f, 0.4f, 0.05f, 0.4f], indices);
        Assert.Equal([1, 2, 4], indices);
    }

    [Fact]
    public void Rms_norm_matches_its_definition()
    {
        float[] x = [1, -2, 3, -4];
        float[] w = [1, 0.5f, 2, 1];
        var y = new float[4];
        VectorMath.RmsNorm(x, w, 1e-5f, y);
        double rms = Math.Sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-5);
        for (int i = 0; i < 4; i++) Assert.Equal(w[i] * x[i] / rms, y[i], 5);
    }

    [Fact]
    public void Rope_rotates_dimension_i_with_i_plus_half()
    {
        var rope = new RotaryEmbedding(4, 10000f);
        var cos = new float[2];
        var sin = new float[2];
        rope.Angles(3, cos, sin);
        float[] head = [1, 2, 3, 4];
        RotaryEmbedding.Apply(head, 4, cos, sin);
        double a0 = 3.0, a1 = 3 * Math.Pow(10000, -0.5);
        Assert.Equal(1 * Math.Cos(a0) - 3 * Math.Sin(a0), head[0], 5);
        Assert.Equal(2 * Math.Cos(a1) - 4 * Math.Sin(a1), head[1], 5);
        Assert.Equal(3 * Math.Cos(a0) + 1 * Math.Sin(a0), head[2], 5);
        Assert.Equal(4 * Math.Cos(a1) + 2 * Math.Sin(a1), head[3], 5);
    }
    public static TheoryData<int, int> AttentionShapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int headDim in new[] { 8, 16, 48, 128 })
            foreach (int positions in new[] { 0, 1, 3, 4, 5, 8, 13, 64, 67 })
                data.Add(headDim, positions);
        return data;
    }

    [Theory]
    [MemberData(nameof(AttentionShapes))]
    public void Attention_scores_and_weighted_sum_match_the_reference(int headDim, int positions)
    {
        var q = RandomFloats(headDim, headDim);
        var keys = RandomFloats(positions * headDim + 5, positions + 1);
        var values = RandomFloats(positions * headDim + 5, positions + 2);
        const float scale = 0.125f;
        var scores = new float[positions];
        AttentionKernels.Scores(q, keys, scale, scores);
        for (int t = 0; t < positions; t++)
        {
            double expected = 0, magnitude = 0;
            for (int k = 0; k < headDim; k++) { expected += (double)q[k] * keys[t * headDim + k]; magnitude += Math.Abs((double)q[k] * keys[t * headDim + k]); }
            AssertClose(expected * scale, scores[t], magnitude * scale, $"score hd={headDim} t={t}");
        }

        var weights = RandomFloats(positions, positions + 3);
        var output = Enumerable.Repeat(float.NaN, headDim).ToArray(); // stale contents must be overwritten
        AttentionKernels.WeightedSum(weights, values, output);
        for (int k = 0; k < headDim; k++)
        {
            double expected = 0, magnitude = 0;
            for (int t = 0; t < positions; t++) { expected += (double)weights[t] * values[t * headDim + k]; magnitude += Math.Abs((double)weights[t] * values[t * headDim + k]); }
            AssertClose(expected, output[k], magnitude, $"weighted sum hd={headDim} k={k}");
        }
    }

    [Theory]
    [MemberData(nameof(AttentionShapes))]
    public void Attention_over_a_bf16_cache_matches_the_reference(int headDim, int positions)
    {
        var q = RandomFloats(headDim, headDim + 7);
        var keys = RandomBf16(positions * headDim + 5, positions + 11);
        var values = RandomBf16(positions * headDim + 5, positions + 12);
        const float scale = 0.125f;
        var scores = new float[positions];
        AttentionKernels.Scores(q, keys, scale, scores);
        for (int t = 0; t < positions; t++)
        {
            double expected = 0, magnitude = 0;
            for (int k = 0; k < headDim; k++) { expected += q[k] * Bf16(keys[t * headDim + k]); magnitude += Math.Abs(q[k] * Bf16(keys[t * headDim + k])); }
            AssertClose(expected * scale, scores[t], magnitude * scale, $"bf16 score hd={headDim} t={t}");
        }

        var weights = RandomFloats(positions, positions + 13);
        var output = Enumerable.Repeat(float.NaN, headDim).ToArray();
        AttentionKernels.WeightedSum(weights, values, output);
        for (int k = 0; k < headDim; k++)
        {
            double expected = 0, magnitude = 0;
            for (int t = 0; t < positions; t++) { expected += weights[t] * Bf16(values[t * headDim + k]); magnitude += Math.Abs(weights[t] * Bf16(values[t * headDim + k])); }
            AssertClose(expected, output[k], magnitude, $"bf16 weighted sum hd={headDim} k={k}");
        }
    }
}
