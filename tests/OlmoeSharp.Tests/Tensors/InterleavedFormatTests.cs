using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Tensors;

/// <summary>
/// K-quant matrices re-laid sixteen rows at a time (<see cref="InterleavedFormat"/>, what <c>--weights packed</c> does
/// to a GGUF file's Q4_K and Q6_K matrices): the same values bit for bit, and products that differ from the dequantized
/// rows only by float summation order — for whole groups, for row ranges that cut a group, and for several tokens at once.
/// </summary>
[Trait("Category", "Kernels")]
public sealed unsafe class InterleavedFormatTests
{
    private static readonly Half[] ExtremeScales = [(Half)0, (Half)(-0.75), Half.Epsilon, (Half)6.1e-5, Half.MaxValue, (Half)(-65504)];

    public static TheoryData<GgmlType, string> Types() => new() { { GgmlType.Q4_K, "q4_k-x16" }, { GgmlType.Q6_K, "q6_k-x16" }, { GgmlType.Q4_0, "q4_0-x16" } };

    /// <summary>Where each block keeps its fp16 scales: Q4_K d and dmin first, Q6_K d last, Q4_0 d first.</summary>
    private static int[] HalfOffsets(GgmlType type) => type switch { GgmlType.Q4_K => [0, 2], GgmlType.Q6_K => [208], _ => [0] };

    private static GgmlBlockFormat Format(GgmlType type) => (GgmlBlockFormat)GgmlTypeLayout.Format(type);

    /// <summary>Random rows with modest fp16 scales, and some super-blocks with extreme ones (zero, negative, subnormal, the largest).</summary>
    private static byte[] RandomRows(GgmlType type, int rows, int cols, Random random, bool extremes)
    {
        int blockBytes = Format(type).BlockBytes, blocks = rows * cols / Format(type).BlockSize;
        var data = new byte[blocks * blockBytes];
        random.NextBytes(data);
        for (int b = 0; b < blocks; b++)
        {
            bool extreme = extremes && b % 5 == 3;
            var offsets = HalfOffsets(type);
            for (int h = 0; h < offsets.Length; h++)
            {
                Half value = extreme ? ExtremeScales[(b / 5 + h) % ExtremeScales.Length] : (Half)((random.NextDouble() - 0.5) * 0.1);
                BitConverter.TryWriteBytes(data.AsSpan(b * blockBytes + offsets[h]), value);
            }
        }
        return data;
    }

    /// <summary>The stored matrix in <paramref name="data"/> and its interleaved copy, written to <paramref name="encoded"/> (<see cref="EncodedBuffer"/>).</summary>
    private static (WeightMatrix Stored, WeightMatrix Encoded) Both(GgmlType type, byte* data, byte* encoded, int rows, int cols)
    {
        var stored = new WeightMatrix(Format(type), data, rows, cols);
        return (stored, WeightFormats.Interleaving.Encode(stored, encoded, 64));
    }

    private static byte[] EncodedBuffer(GgmlType type, int rows, int cols) =>
        new byte[WeightFormats.Interleaving.EncodedBytes(new WeightMatrix(Format(type), null, rows, cols), 64)];

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_row_widens_to_the_stored_row_s_values_bit_for_bit(GgmlType type, string name)
    {
        int rows = 48, cols = 1024;
        var data = RandomRows(type, rows, cols, new Random(5), extremes: true);
        var encoded = EncodedBuffer(type, rows, cols);
        var want = new float[cols];
        var got = new float[cols];
        fixed (byte* p = data)
        fixed (byte* e = encoded)
        {
            var (stored, interleaved) = Both(type, p, e, rows, cols);
            Assert.Equal(name, interleaved.Format.Name);
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
    [Theory]
    [MemberData(nameof(Types))]
    public void The_mat_vec_equals_the_dequantized_rows_times_x_for_any_row_range(GgmlType type, string name)
    {
        int rows = 64, cols = 768;
        var random = new Random(9);
        var data = RandomRows(type, rows, cols, random, extremes: false);
        var encoded = EncodedBuffer(type, rows, cols);
        var x = Enumerable.Range(0, cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var seen = AsTheKernelSeesIt(x);
        fixed (byte* p = data)
        fixed (byte* e = encoded)
        {
            var (stored, interleaved) = Both(type, p, e, rows, cols);
            Assert.Equal(name, interleaved.Format.Name);
            foreach (var (from, to) in new[] { (0, rows), (0, 5), (5, 37), (37, 64), (16, 32), (20, 21) })
            {
                var y = Enumerable.Repeat(float.NaN, rows).ToArray();
                MatVec.MultiplyRows(interleaved, x, y, from, to);
                for (int r = 0; r < rows; r++)
                {
                    if (r < from || r >= to) Assert.True(float.IsNaN(y[r]), $"[{from}, {to}): row {r} outside the range was written");
                    else GgmlDequantizationTests.AssertRowTimes(stored, r, seen, y[r], $"[{from}, {to}) row {r}");
                }
            }
        }
    }

    /// <summary>
    /// Several tokens, as a batch's experts or a prompt block take them: up to the limit row by row, four at a time and the rest one by one (each bit for bit its own mat-vec), more
    /// through the GEMM's widened rows (x exact); split between two row ranges that cut a group.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void The_product_for_several_tokens_equals_each_token_s_own(GgmlType type, string name)
    {
        int rows = 32, cols = 512;
        var random = new Random(13);
        var data = RandomRows(type, rows, cols, random, extremes: false);
        var encoded = EncodedBuffer(type, rows, cols);
        fixed (byte* p = data)
        fixed (byte* e = encoded)
        {
            var (stored, interleaved) = Both(type, p, e, rows, cols);
            Assert.Equal(name, interleaved.Format.Name);
            int limit = interleaved.Format.RowwiseTokenLimit;
            foreach (int tokens in new[] { 2, 3, 9, limit, limit + 1 }.Where(t => t >= 2).Distinct()) // no vector kernels: limit 0, all through the GEMM
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
                        GgmlDequantizationTests.AssertRowTimes(stored, r, seen, y[t * ldy + r], $"{tokens} tokens ({(rowwise ? "row by row" : "GEMM")}), token {t} row {r}");
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
    public void Only_q4_k_q6_k_and_q4_0_matrices_of_whole_groups_are_encoded_and_encoded_ones_are_not_sliced()
    {
        var encoder = WeightFormats.Interleaving;
        Assert.True(encoder.CanEncode(new WeightMatrix(Q4_KFormat.Instance, null, 1024, 2048)));
        Assert.True(encoder.CanEncode(new WeightMatrix(Q6_KFormat.Instance, null, 2048, 1024)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Q4_KFormat.Instance, null, 1000, 2048)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Bf16Format.Instance, null, 1024, 2048)));
        Assert.True(encoder.CanEncode(new WeightMatrix(Q4_0Format.Instance, null, 1024, 2048)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Q4_0Format.Instance, null, 1024, 2080)));
        Assert.False(encoder.CanEncode(new WeightMatrix(Q5_KFormat.Instance, null, 1024, 2048)));
        // Per row and 256 columns: Q4_K 152 bytes (d and dmin kept as float32), Q6_K 212 (d kept as float32), Q4_0 160.
        Assert.Equal(1024L * 8 * 152, encoder.EncodedBytes(new WeightMatrix(Q4_KFormat.Instance, null, 1024, 2048), 64));
        Assert.Equal(2048L * 4 * 212, encoder.EncodedBytes(new WeightMatrix(Q6_KFormat.Instance, null, 2048, 1024), 64));
        Assert.Equal(1024L * 8 * 160, encoder.EncodedBytes(new WeightMatrix(Q4_0Format.Instance, null, 1024, 2048), 64));
        var encoded = new WeightMatrix(Q4_KInterleavedFormat.Instance, null, 32, 256);
        Assert.Throws<InvalidOperationException>(() => encoded.Slice(16, 16));
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
