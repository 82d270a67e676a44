using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Tensors;

/// <summary>
/// Q4_K matrices re-laid sixteen rows at a time (<see cref="Q4_KInterleaved"/>, what <c>--weights packed</c> does to a
/// GGUF file's Q4_K matrices): the same values bit for bit, and products that differ from the dequantized rows only by
/// float summation order — for whole groups, for row ranges that cut a group, and for several tokens at once.
/// </summary>
[Trait("Category", "Kernels")]
public sealed unsafe class Q4_KInterleavedTests
{
    private const int BlockBytes = 144;

    private static readonly Half[] ExtremeScales = [(Half)0, (Half)(-0.75), Half.Epsilon, (Half)6.1e-5, Half.MaxValue, (Half)(-65504)];

    /// <summary>Random Q4_K rows with modest fp16 scales, and some super-blocks with extreme ones (zero, negative, subnormal, the largest).</summary>
    private static byte[] RandomRows(int rows, int cols, Random random, bool extremes)
    {
        int blocks = rows * cols / 256;
        var data = new byte[blocks * BlockBytes];
        random.NextBytes(data);
        for (int b = 0; b < blocks; b++)
        {
            bool extreme = extremes && b % 5 == 3;
            Half d = extreme ? ExtremeScales[b / 5 % ExtremeScales.Length] : (Half)((random.NextDouble() - 0.5) * 0.1);
            Half min = extreme ? ExtremeScales[(b / 5 + 1) % ExtremeScales.Length] : (Half)((random.NextDouble() - 0.5) * 0.1);
            BitConverter.TryWriteBytes(data.AsSpan(b * BlockBytes), d);
            BitConverter.TryWriteBytes(data.AsSpan(b * BlockBytes + 2), min);
        }
        return data;
    }

    /// <summary>The Q4_K matrix in <paramref name="data"/> and its interleaved copy, written to <paramref name="encoded"/> (<see cref="EncodedBuffer"/>).</summary>
    private static (WeightMatrix Stored, WeightMatrix Encoded) Both(byte* data, byte* encoded, int rows, int cols)
    {
        var stored = new WeightMatrix(Q4_KFormat.Instance, data, rows, cols);
        return (stored, WeightFormats.Q4_KInterleaved.Encode(stored, encoded, 64));
    }

    private static byte[] EncodedBuffer(int rows, int cols) =>
        new byte[WeightFormats.Q4_KInterleaved.EncodedBytes(new WeightMatrix(Q4_KFormat.Instance, null, rows, cols), 64)];

    [Fact]
    public void Every_row_widens_to_the_stored_row_s_values_bit_for_bit()
    {
        int rows = 48, cols = 1024;
        var data = RandomRows(rows, cols, new Random(5), extremes: true);
        var encoded = EncodedBuffer(rows, cols);
        var want = new float[cols];
        var got = new float[cols];
        fixed (byte* p = data)
        fixed (byte* e = encoded)
        {
            var (stored, interleaved) = Both(p, e, rows, cols);
            Assert.Equal("q4_k-x16", interleaved.Format.Name);
            for (int r = 0; r < rows; r++)
            {
                MatVec.WidenRow(stored, r, want);
                MatVec.WidenRow(interleaved, r, got);
                for (int c = 0; c < cols; c++)
                    Assert.True(BitConverter.SingleToInt32Bits(want[c]) == BitConverter.SingleToInt32Bits(got[c]) || (float.IsNaN(want[c]) && float.IsNaN(got[c])),
                        $"row {r} value {c}: {got[c]} vs stored {want[c]}");
            }
        }
    }

    /// <summary>
    /// y = W·x for the whole matrix and for ranges that start and end inside a group (as threads split rows), against the
    /// dequantized rows times x as the kernel sees it (rounded to int16 blocks): within 1e-5 of the products' magnitudes.
    /// </summary>
    [Fact]
    public void The_mat_vec_equals_the_dequantized_rows_times_x_for_any_row_range()
    {
        int rows = 64, cols = 768;
        var random = new Random(9);
        var data = RandomRows(rows, cols, random, extremes: false);
        var encoded = EncodedBuffer(rows, cols);
        var x = Enumerable.Range(0, cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var seen = AsTheKernelSeesIt(x);
        fixed (byte* p = data)
        fixed (byte* e = encoded)
        {
            var (stored, interleaved) = Both(p, e, rows, cols);
            foreach (var (from, to) in new[] { (0, rows), (0, 5), (5, 37), (37, 64), (16, 32), (20, 21) })
            {
                var y = Enumerable.Repeat(float.NaN, rows).ToArray();
                MatVec.MultiplyRows(interleaved, x, y, from, to);
                for (int r = 0; r < rows; r++)
                {
                    if (r < from || r >= to) Assert.True(float.IsNaN(y[r]), $"[{from}, {to}): row {r} outside the range was written");
                    else AssertRowTimes(stored, r, seen, y[r], $"[{from}, {to}) row {r}");
                }
            }
        }
    }

    /// <summary>
    /// Several tokens, as a batch's experts take them: up to four row by row (each bit for bit its own mat-vec), more
    /// through the GEMM's widened rows (x exact); split between two row ranges that cut a group.
    /// </summary>
    [Fact]
    public void The_product_for_several_tokens_equals_each_token_s_own()
    {
        int rows = 32, cols = 512;
        var random = new Random(13);
        var data = RandomRows(rows, cols, random, extremes: false);
        var encoded = EncodedBuffer(rows, cols);
        fixed (byte* p = data)
        fixed (byte* e = encoded)
        {
            var (stored, interleaved) = Both(p, e, rows, cols);
            int limit = interleaved.Format.RowwiseTokenLimit;
            foreach (int tokens in new[] { 2, 3, 4, 5, 9 })
            {
                var x = Enumerable.Range(0, tokens * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                int ldy = rows + 3;
                var y = new float[tokens * ldy];
                MatMul.MultiplyRows(interleaved, x, tokens, y, ldy, 0, 20);
                MatMul.MultiplyRows(interleaved, x, tokens, y, ldy, 20, rows);
                bool rowwise = tokens <= limit;
                for (int t = 0; t < tokens; t++)
                {
                    var token = x.AsSpan(t * cols, cols).ToArray();
                    var seen = rowwise ? AsTheKernelSeesIt(token) : token;
                    for (int r = 0; r < rows; r++)
                        AssertRowTimes(stored, r, seen, y[t * ldy + r], $"{tokens} tokens ({(rowwise ? "row by row" : "GEMM")}), token {t} row {r}");
                    if (!rowwise) continue;
                    var alone = new float[rows];
                    MatVec.MultiplyRows(interleaved, token, alone, 0, rows);
                    for (int r = 0; r < rows; r++)
                        Assert.True(alone[r] == y[t * ldy + r], $"{tokens} tokens, token {t} row {r}: {y[t * ldy + r]:R} together, {alone[r]:R} alone");
                }
            }
        }
    }

    [Fact]
    public void Only_q4_k_matrices_of_whole_groups_are_encoded_and_encoded_ones_are_not_sliced()
    {
        var encoder = WeightFormats.Q4_KInterleaved;
        Assert.True(encoder.CanEncode(new WeightMatrix(Q4_KFormat.Instance, null, 1024, 2048)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Q4_KFormat.Instance, null, 1000, 2048)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Bf16Format.Instance, null, 1024, 2048)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Q6_KFormat.Instance, null, 1024, 2048)));
        // 152 bytes per row and super-block: the 16 rows' d and dmin kept as float32.
        Assert.Equal(1024L * 8 * 152, encoder.EncodedBytes(new WeightMatrix(Q4_KFormat.Instance, null, 1024, 2048), 64));
        var encoded = new WeightMatrix(Q4_KInterleavedFormat.Instance, null, 32, 256);
        Assert.Throws<InvalidOperationException>(() => encoded.Slice(16, 16));
    }

    /// <summary>|<paramref name="actual"/> − row r · x| within 1e-5 of the sum of the products' magnitudes (summation order alone).</summary>
    private static void AssertRowTimes(in WeightMatrix stored, int r, float[] x, float actual, string what)
    {
        var row = new float[stored.Cols];
        MatVec.WidenRow(stored, r, row);
        double expected = 0, magnitude = 0;
        for (int c = 0; c < stored.Cols; c++) { expected += (double)row[c] * x[c]; magnitude += Math.Abs((double)row[c] * x[c]); }
        Assert.True(Math.Abs(actual - expected) <= 1e-5 * magnitude + 1e-6, $"{what}: {actual} vs {expected}");
    }

    /// <summary>x rounded to int16 blocks, as the kernels see it.</summary>
    private static float[] AsTheKernelSeesIt(float[] x)
    {
        fixed (float* px = x)
        {
            var a = Int16Activations.Quantize(px, x.Length);
            return Enumerable.Range(0, x.Length).Select(i => a.Values[i] * a.Scales[i / Int16Activations.Block]).ToArray();
        }
    }
}
