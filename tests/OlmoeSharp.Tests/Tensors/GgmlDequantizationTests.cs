using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Tensors;

/// <summary>
/// Each ggml block type's dequantization against a reading of its layout written the other way round: value i of a
/// block computed on its own from the bytes (which byte, which bits, which scale), not by walking the block as the
/// formats do. Compared as bits, on random blocks, blocks whose quants are all equal, and extreme scales (zero,
/// negative, subnormal, the largest half). The dequantizers were also checked bit for bit against llama.cpp's own on
/// files of every type (benchmarks' `check-dequant`).
/// </summary>
[Trait("Category", "Kernels")]
public sealed unsafe class GgmlDequantizationTests
{
    /// <summary>value i of a block, from its bytes.</summary>
    private delegate float Element(byte[] b, int i);

    private static float H(byte[] b, int at) => (float)BitConverter.ToHalf(b, at);

    private static int Nibble(byte[] qs, int at, int i) => i % 32 < 16 ? qs[at + i % 16] & 15 : qs[at + i % 16] >> 4;

    private static readonly sbyte[] Iq4Levels = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>Q4_K/Q5_K 6-bit (scale, min) of sub-block j, spelled out per sub-block.</summary>
    private static (int, int) ScaleMin(byte[] b, int at, int j) => j < 4
        ? (b[at + j] & 63, b[at + j + 4] & 63)
        : ((b[at + j + 4] & 15) | (b[at + j - 4] >> 6 << 4), (b[at + j + 4] >> 4) | (b[at + j] >> 6 << 4));

    private static readonly Dictionary<GgmlType, (int ScaleOffset, int[] HalfOffsets, Element Value)> Layouts = new()
    {
        [GgmlType.Q8_0] = (0, [0], (b, i) => (sbyte)b[2 + i] * H(b, 0)),
        [GgmlType.Q4_0] = (0, [0], (b, i) => (Nibble(b, 2, i) - 8) * H(b, 0)),
        [GgmlType.Q4_1] = (0, [0, 2], (b, i) => Nibble(b, 4, i) * H(b, 0) + H(b, 2)),
        [GgmlType.Q5_0] = (0, [0], (b, i) => ((Nibble(b, 6, i) | (int)((BitConverter.ToUInt32(b, 2) >> i) & 1) << 4) - 16) * H(b, 0)),
        [GgmlType.Q5_1] = (0, [0, 2], (b, i) => (Nibble(b, 8, i) | (int)((BitConverter.ToUInt32(b, 4) >> i) & 1) << 4) * H(b, 0) + H(b, 2)),
        [GgmlType.IQ4_NL] = (0, [0], (b, i) => H(b, 0) * Iq4Levels[Nibble(b, 2, i)]),
        [GgmlType.IQ4_XS] = (0, [0], (b, i) =>
        {
            int sub = i / 32;
            int scale = ((b[4 + sub / 2] >> 4 * (sub % 2)) & 15) | ((BitConverter.ToUInt16(b, 2) >> 2 * sub) & 3) << 4;
            return H(b, 0) * (scale - 32) * Iq4Levels[Nibble(b, 8 + 16 * sub, i)];
        }),
        [GgmlType.Q2_K] = (0, [80, 82], (b, i) =>
        {
            // Value i: 128-value half h, 32-value group g (the bit pair), position l in it; sub-block of 16 = i / 16.
            int h = i / 128, g = i % 128 / 32, l = i % 32;
            int q = (b[16 + 32 * h + l] >> 2 * g) & 3, sc = b[i / 16];
            return H(b, 80) * (sc & 15) * q - H(b, 82) * (sc >> 4);
        }),
        [GgmlType.Q3_K] = (0, [108], (b, i) =>
        {
            int h = i / 128, g = i % 128 / 32, l = i % 32, s = i / 16;
            int low = (b[32 + 32 * h + l] >> 2 * g) & 3;
            bool high = (b[l] >> (4 * h + g) & 1) != 0;
            int scale = (s < 8 ? b[96 + s] & 15 : b[96 + s - 8] >> 4) | ((b[96 + 8 + s % 4] >> 2 * (s / 4)) & 3) << 4;
            return H(b, 108) * (scale - 32) * (low - (high ? 0 : 4));
        }),
        [GgmlType.Q4_K] = (0, [0, 2], (b, i) =>
        {
            int sub = i / 32, l = i % 32;
            var (sc, m) = ScaleMin(b, 4, sub);
            int q = sub % 2 == 0 ? b[16 + 32 * (sub / 2) + l] & 15 : b[16 + 32 * (sub / 2) + l] >> 4;
            return H(b, 0) * sc * q - H(b, 2) * m;
        }),
        [GgmlType.Q5_K] = (0, [0, 2], (b, i) =>
        {
            int sub = i / 32, l = i % 32;
            var (sc, m) = ScaleMin(b, 4, sub);
            int q = (sub % 2 == 0 ? b[48 + 32 * (sub / 2) + l] & 15 : b[48 + 32 * (sub / 2) + l] >> 4) + ((b[16 + l] >> sub & 1) != 0 ? 16 : 0);
            return H(b, 0) * sc * q - H(b, 2) * m;
        }),
        [GgmlType.Q6_K] = (0, [208], (b, i) =>
        {
            int h = i / 128, k = i % 128 / 32, l = i % 32;
            int low = b[64 * h + 32 * (k % 2) + l] >> 4 * (k / 2) & 15;
            int high = b[128 + 32 * h + l] >> 2 * k & 3;
            return H(b, 208) * (sbyte)b[192 + i / 16] * ((low | high << 4) - 32);
        }),
    };

    public static TheoryData<GgmlType> Types() => [.. Layouts.Keys];

    private static readonly Half[] ExtremeScales = [(Half)0, (Half)(-0.75), Half.Epsilon, (Half)6.1e-5, Half.MaxValue, (Half)(-65504), (Half)1];

    [Theory]
    [MemberData(nameof(Types))]
    public void Random_blocks_dequantize_as_the_layout_says(GgmlType type)
    {
        var random = new Random((int)type);
        var block = new byte[Format(type).BlockBytes];
        for (int trial = 0; trial < 200; trial++)
        {
            random.NextBytes(block);
            foreach (int at in Layouts[type].HalfOffsets) SetHalf(block, at, (Half)(random.NextDouble() * 2 - 1) * (Half)0.05);
            AssertMatchesLayout(type, block);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Blocks_of_equal_quants_and_extreme_scales_dequantize_as_the_layout_says(GgmlType type)
    {
        var block = new byte[Format(type).BlockBytes];
        foreach (byte fill in new byte[] { 0x00, 0xFF, 0x88, 0x7F, 0x55 })
        {
            foreach (var scale in ExtremeScales)
            {
                Array.Fill(block, fill);
                foreach (int at in Layouts[type].HalfOffsets) SetHalf(block, at, scale);
                AssertMatchesLayout(type, block);
            }
        }
    }

    [Fact]
    public void Every_half_widens_exactly_as_dotnet_s_conversion_scalar_and_eight_at_a_time()
    {
        var bits = new ushort[8];
        for (int h = 0; h < 65536; h += 8)
        {
            for (int j = 0; j < 8; j++) bits[j] = (ushort)(h + j);
            var lanes = new float[8];
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                System.Runtime.Intrinsics.Vector256.CopyTo(GgmlBits.ExactHalves(System.Runtime.Intrinsics.Vector256.Create(bits.Select(b => (int)b).ToArray())), lanes);
            for (int j = 0; j < 8; j++)
            {
                float want = (float)BitConverter.UInt16BitsToHalf(bits[j]);
                float scalar;
                fixed (ushort* p = &bits[j]) scalar = GgmlBits.ExactHalf((byte*)p);
                AssertSameValue(want, scalar, $"half 0x{bits[j]:X4}");
                if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) AssertSameValue(want, lanes[j], $"half 0x{bits[j]:X4}, lane {j}");
            }
        }
    }

    private static void AssertSameValue(float want, float got, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(got) || (float.IsNaN(want) && float.IsNaN(got)), $"{what}: {got} vs {want}");

    [Fact]
    public void A_q4_0_block_is_d_times_nibble_minus_eight_low_nibbles_first()
    {
        var block = new byte[18];
        SetHalf(block, 0, (Half)0.5f);
        for (int j = 0; j < 16; j++) block[2 + j] = (byte)(j | (15 - j) << 4);
        var values = Dequantize(GgmlType.Q4_0, block);
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal((j - 8) * 0.5f, values[j]);
            Assert.Equal((7 - j) * 0.5f, values[16 + j]);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Widening_a_row_gives_the_block_dequantizer_s_values_bit_for_bit(GgmlType type)
    {
        var format = Format(type);
        int cols = 1024;
        var random = new Random(11);
        var data = RandomRows(format, type, 3, cols, random);
        var expected = new float[cols];
        var row = new float[cols];
        fixed (byte* p = data)
        fixed (float* e = expected)
        {
            var w = new WeightMatrix(format, p, 3, cols);
            for (int r = 0; r < 3; r++)
            {
                for (int b = 0; b < cols / format.BlockSize; b++)
                    format.DequantizeBlock(w.Row(r) + b * format.BlockBytes, e + b * format.BlockSize);
                MatVec.WidenRow(w, r, row);
                for (int c = 0; c < cols; c++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[c]) == BitConverter.SingleToInt32Bits(row[c]), $"{type} row {r} value {c}: {row[c]} vs {expected[c]}");
            }
        }
    }

    /// <summary>Random rows whose fp16 scales are finite and modest (random bytes there would often be NaN or ∞).</summary>
    private static byte[] RandomRows(GgmlBlockFormat format, GgmlType type, int rows, int cols, Random random)
    {
        long rowBytes = format.RowBytes(cols);
        var data = new byte[rows * rowBytes];
        random.NextBytes(data);
        for (int r = 0; r < rows; r++)
            for (int blockStart = 0; blockStart < rowBytes; blockStart += format.BlockBytes)
                foreach (int at in Layouts[type].HalfOffsets) SetHalf(data, (int)(r * rowBytes) + blockStart + at, (Half)(random.NextDouble() - 0.5) * (Half)0.1);
        return data;
    }

    /// <summary>
    /// The mat-vec (integer kernel where the CPU has one, else dequantize-and-dot) equals the dot product of the
    /// dequantized rows with x as the kernel sees it: x itself on the float path, x rounded to int16 blocks
    /// (<see cref="Int16Activations"/>) on the integer one — so only float summation order may differ.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void The_mat_vec_equals_the_dot_product_of_the_dequantized_rows(GgmlType type)
    {
        var format = Format(type);
        int cols = 512, rows = 5;
        var random = new Random(7);
        var data = RandomRows(format, type, rows, cols, random);
        var x = Enumerable.Range(0, cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var seen = AsTheKernelSeesIt(format, x);
        fixed (byte* p = data)
        {
            var w = new WeightMatrix(format, p, rows, cols);
            var y = new float[rows];
            MatVec.MultiplyRows(w, x, y, 0, rows);
            for (int r = 0; r < rows; r++) AssertRowTimes(w, r, seen, y[r], $"{type} row {r}");
        }
    }

    /// <summary>|<paramref name="actual"/> − dequantized row <paramref name="r"/> · x| within 1e-5 of the sum of the products' magnitudes (summation order alone).</summary>
    internal static void AssertRowTimes(in WeightMatrix w, int r, float[] x, float actual, string what)
    {
        var row = new float[w.Cols];
        MatVec.WidenRow(w, r, row);
        double expected = 0, magnitude = 0;
        for (int c = 0; c < w.Cols; c++) { expected += (double)row[c] * x[c]; magnitude += Math.Abs((double)row[c] * x[c]); }
        Assert.True(Math.Abs(actual - expected) <= 1e-5 * magnitude + 1e-6, $"{what}: {actual} vs {expected}");
    }

    /// <summary>
    /// The product for a block of tokens, as a batch's experts and projections take it: up to
    /// <see cref="WeightFormat.RowwiseTokenLimit"/> tokens row by row through the integer kernel (each token's x
    /// rounded to int16 as the kernel sees it), more through the GEMM's widened float32 rows (x exact), split between two
    /// row ranges as two threads would. Either way only float summation order may differ from the dequantized rows;
    /// row by row, not even that from the token's mat-vec.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void The_product_for_several_tokens_equals_the_dequantized_rows_times_each_token(GgmlType type)
    {
        var format = Format(type);
        int cols = 512, rows = 9;
        var random = new Random(11);
        var data = RandomRows(format, type, rows, cols, random);
        fixed (byte* p = data)
        {
            var w = new WeightMatrix(format, p, rows, cols);
            foreach (int tokens in new[] { 2, 3, 4, 5, 7 })
            {
                var x = Enumerable.Range(0, tokens * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
                int ldy = rows + 3;
                var y = new float[tokens * ldy];
                MatMul.MultiplyRows(w, x, tokens, y, ldy, 0, 4);
                MatMul.MultiplyRows(w, x, tokens, y, ldy, 4, rows);
                bool rowwise = tokens <= format.RowwiseTokenLimit;
                for (int t = 0; t < tokens; t++)
                {
                    var token = x.AsSpan(t * cols, cols).ToArray();
                    var seen = rowwise ? AsTheKernelSeesIt(format, token) : token;
                    for (int r = 0; r < rows; r++)
                        AssertRowTimes(w, r, seen, y[t * ldy + r], $"{type}, {tokens} tokens ({(rowwise ? "row by row" : "GEMM")}), token {t} row {r}");
                    if (!rowwise) continue;
                    // Row by row, a token's products are bit for bit those it gets alone (the mat-vec): a batched
                    // sequence decodes exactly as it would by itself, whichever kernel took its tokens together.
                    var alone = new float[rows];
                    MatVec.MultiplyRows(w, token, alone, 0, rows);
                    for (int r = 0; r < rows; r++)
                        Assert.True(alone[r] == y[t * ldy + r], $"{type}, {tokens} tokens, token {t} row {r}: {y[t * ldy + r]:R} together, {alone[r]:R} alone");
                }
            }
        }
    }

    [Fact]
    public void Int16_activations_are_requantized_whenever_a_single_bit_of_x_changes_even_in_place()
    {
        var x = Enumerable.Range(0, 256).Select(i => MathF.Sin(i) * 3).ToArray();
        var copy = x.ToArray();
        fixed (float* px = x)
        fixed (float* pc = copy)
        {
            short first = Int16Activations.Quantize(px, 256).Values[100];
            // Same bits from another buffer: reused, same values.
            Assert.Equal(first, Int16Activations.Quantize(pc, 256).Values[100]);
            // The same buffer changed in place — a sign, then one value far inside its block: quantized afresh.
            x[100] = -x[100];
            Assert.Equal(-first, Int16Activations.Quantize(px, 256).Values[100]);
            short before = Int16Activations.Quantize(px, 256).Values[8];
            x[8] += 0.5f;
            var again = Int16Activations.Quantize(px, 256);
            Assert.NotEqual(before, again.Values[8]);
            Assert.Equal(-first, again.Values[100]);
            // A shorter vector with the same prefix is quantized for its own length.
            Assert.Equal(x.Take(32).Max(Math.Abs) / 32767f, Int16Activations.Quantize(px, 32).Scales[0]);
        }
    }

    [Fact]
    public void Int16_activations_round_each_block_to_its_largest_magnitude_over_32767()
    {
        var random = new Random(3);
        var x = Enumerable.Range(0, 96).Select(i => i < 32 ? 0f : (float)(random.NextDouble() * 8 - 4)).ToArray();
        fixed (float* px = x)
        {
            var a = Int16Activations.Quantize(px, x.Length);
            Assert.Equal(0f, a.Scales[0]);
            for (int b = 1; b < 3; b++)
            {
                float amax = x.Skip(32 * b).Take(32).Max(Math.Abs);
                Assert.Equal(amax / 32767f, a.Scales[b]);
                int sum = 0;
                for (int j = 0; j < 32; j++)
                {
                    int q = a.Values[32 * b + j];
                    sum += q;
                    Assert.True(Math.Abs(q * a.Scales[b] - x[32 * b + j]) <= a.Scales[b] / 2 * 1.0001f, $"value {32 * b + j}");
                }
                Assert.Equal(a.Scales[b] * sum, a.Sums[b], 4);
            }
        }
    }

    private static float[] AsTheKernelSeesIt(GgmlBlockFormat format, float[] x)
    {
        if (!format.HasInt16Kernel) return x;
        fixed (float* px = x)
        {
            var a = Int16Activations.Quantize(px, x.Length);
            return Enumerable.Range(0, x.Length).Select(i => a.Values[i] * a.Scales[i / Int16Activations.Block]).ToArray();
        }
    }

    private static void AssertMatchesLayout(GgmlType type, byte[] block)
    {
        var values = Dequantize(type, block);
        var reference = Layouts[type].Value;
        for (int i = 0; i < values.Length; i++)
        {
            float want = reference(block, i);
            Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(values[i]) || (float.IsNaN(want) && float.IsNaN(values[i])),
                $"{type} value {i}: {values[i]} vs the layout's {want} (block {Convert.ToHexString(block)})");
        }
    }

    private static float[] Dequantize(GgmlType type, byte[] block)
    {
        var format = Format(type);
        var values = new float[format.BlockSize];
        fixed (byte* b = block)
        fixed (float* v = values)
            format.DequantizeBlock(b, v);
        return values;
    }

    private static GgmlBlockFormat Format(GgmlType type) => (GgmlBlockFormat)GgmlTypeLayout.Format(type);

    private static void SetHalf(byte[] bytes, int at, Half value) => BitConverter.TryWriteBytes(bytes.AsSpan(at), value);
}
