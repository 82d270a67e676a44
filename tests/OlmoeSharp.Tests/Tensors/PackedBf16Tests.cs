using System.Runtime.InteropServices;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Tests.Tensors;

/// <summary>
/// The packed bf16 format (<see cref="PackedBf16"/>) and its kernels. Packing must be lossless: every value decodes
/// to the same 16 bits, including zeros among normal values, subnormals, infinities, NaNs and values far below their
/// group's largest (which go to the corrections). Products are checked against a double-precision loop over the
/// original bf16 values with the kernel tests' tolerance (1e-5 of the sum of |terms|). CI reruns these with
/// AVX-512 and with all intrinsics disabled, which covers the scalar decoder.
/// </summary>
[Trait("Category", "Kernels")]
public sealed unsafe class PackedBf16Tests
{
    /// <summary>Bf16 rows of a kind: "narrow" (one binade), "normal" (weights-like), "hostile" (every special case).</summary>
    private static ushort[] Values(string kind, int rows, int cols, int seed)
    {
        var random = new Random(seed);
        var values = new ushort[rows * cols];
        for (int i = 0; i < values.Length; i++)
        {
            float v = kind switch
            {
                "narrow" => (float)(0.5 + random.NextDouble() * 0.49) * (random.Next(2) == 0 ? 1 : -1),
                "normal" => (float)(random.NextDouble() * 2 - 1) * 0.05f,
                _ => random.Next(10) switch
                {
                    0 => 0f,
                    1 => -0f,
                    2 => (float)random.NextDouble() * 1e-30f,
                    3 => BitConverter.Int32BitsToSingle(random.Next(1, 0x7F) << 16),  // subnormal
                    4 => (float)random.NextDouble() * 1e6f,
                    5 when random.Next(20) == 0 => random.Next(3) switch { 0 => float.PositiveInfinity, 1 => float.NegativeInfinity, _ => float.NaN },
                    _ => (float)(random.NextDouble() * 2 - 1),
                },
            };
            values[i] = BFloat16Kernels.FromSingle(v);
        }
        return values;
    }

    /// <summary>A packed copy of bf16 rows in native memory, freed on dispose.</summary>
    private sealed class Packed : IDisposable
    {
        private readonly byte* _memory;

        public Packed(ushort[] values, int rows, int cols)
        {
            var encoder = WeightFormats.PackedBf16;
            fixed (ushort* source = values)
            {
                var stored = new WeightMatrix(Bf16Format.Instance, (byte*)source, rows, cols);
                Assert.True(encoder.CanEncode(stored));
                _memory = (byte*)NativeMemory.AlignedAlloc((nuint)encoder.EncodedBytes(stored, 64), 64);
                Matrix = encoder.Encode(stored, _memory, 64);
            }
        }

        public WeightMatrix Matrix { get; }

        public WeightCorrections Corrections => PackedBf16Format.Of(Matrix).Corrections;

        public void Dispose() => NativeMemory.AlignedFree(_memory);
    }

    public static TheoryData<string, int, int> Shapes() => ShapesOf("narrow", "normal", "hostile");

    /// <summary>Infinities and NaNs make every sum non-finite, so products are checked on finite kinds only.</summary>
    public static TheoryData<string, int, int> FiniteShapes() => ShapesOf("narrow", "normal");

    private static TheoryData<string, int, int> ShapesOf(params string[] kinds)
    {
        var data = new TheoryData<string, int, int>();
        foreach (var kind in kinds)
            foreach (var (rows, cols) in new[] { (1, 128), (3, 256), (4, 128), (7, 384), (9, 1024), (12, 2048) })
                data.Add(kind, rows, cols);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Packing_is_lossless(string kind, int rows, int cols)
    {
        var values = Values(kind, rows, cols, rows * 7 + cols);
        using var packed = new Packed(values, rows, cols);
        var w = packed.Matrix;
        var vectorDecoded = new ushort[rows * cols];
        var scalarDecoded = new ushort[cols];
        fixed (ushort* all = vectorDecoded) PackedBf16Kernels.DecodeRows(w, 0, rows, all);
        fixed (ushort* one = scalarDecoded)
            for (int r = 0; r < rows; r++)
            {
                PackedBf16.DecodeRow(w, r, one);
                for (int c = 0; c < cols; c++)
                {
                    Assert.True(values[r * cols + c] == scalarDecoded[c], $"{kind} row {r} col {c}: stored {values[r * cols + c]:X4}, scalar decoder gives {scalarDecoded[c]:X4}");
                    Assert.True(values[r * cols + c] == vectorDecoded[r * cols + c], $"{kind} row {r} col {c}: stored {values[r * cols + c]:X4}, decoder gives {vectorDecoded[r * cols + c]:X4}");
                }
            }
        if (kind == "narrow") Assert.Equal(0, packed.Corrections.Count);
        if (kind == "hostile") Assert.True(packed.Corrections.Count > 0, "hostile values should need corrections");
    }

    /// <summary>The vector decoders this CPU runs, whichever the dispatch picks ("none" where there is no SIMD).</summary>
    public static TheoryData<string> Decoders()
    {
        var data = new TheoryData<string>();
        if (PackedBf16Avx512.IsSupported) data.Add("avx512");
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && SimdWidth.Use256) data.Add("avx2");
        if (SimdWidth.Use128) data.Add("vector128");
        if (data.Count == 0) data.Add("none");
        return data;
    }

    [Theory]
    [MemberData(nameof(Decoders))]
    public void Every_vector_decoder_this_cpu_runs_matches_the_scalar_reference(string decoder)
    {
        if (decoder == "none")
        {
            Assert.False(SimdWidth.Use128, "a CPU with SIMD must list a vector decoder");
            Assert.False(PackedBf16Kernels.HasVectorDecoder);
            return;
        }
        const int rows = 4, cols = 384;
        var values = Values("hostile", rows, cols, 77);
        for (int i = 3; i < values.Length; i += 41) values[i] = BFloat16Kernels.FromSingle(i % 3 == 0 ? 0f : 1e-12f);
        var finite = values.Select(v => float.IsFinite(BFloat16Kernels.ToSingle(v)) ? v : (ushort)0x3F80).ToArray();
        foreach (var (name, data) in new[] { ("hostile", values), ("finite", finite) })
        {
            using var packed = new Packed(data, rows, cols);
            var w = packed.Matrix;
            var format = PackedBf16Format.Of(w);
            var decoded = new ushort[cols];
            var reference = new ushort[cols];
            fixed (ushort* pd = decoded) fixed (ushort* pr = reference)
                for (int r = 0; r < rows; r++)
                {
                    byte* row = w.Row(r);
                    uint* bases = (uint*)format.Bases + r * PackedBf16.GroupsPerRow(cols);
                    switch (decoder)
                    {
                        case "avx512": PackedBf16Avx512.DecodeRow(row, bases, cols, pd); break;
                        case "avx2": PackedBf16Avx2.DecodeRow(row, bases, cols, pd); break;
                        default: PackedBf16Vector128.DecodeRow(row, bases, cols, pd); break;
                    }
                    format.Corrections.Patch(r, pd);
                    PackedBf16.DecodeRow(w, r, pr);
                    Assert.True(decoded.AsSpan().SequenceEqual(reference), $"{decoder} {name} row {r} decodes differently from the scalar reference");
                }
            if (name != "finite") continue;
            // The four-row product, before corrections, equals the dot with the decoded-but-uncorrected rows.
            var x = Enumerable.Range(0, cols).Select(i => (float)Math.Sin(i * 0.37)).ToArray();
            var y = new float[4];
            fixed (float* px = x) fixed (float* py = y)
            {
                uint* bases = (uint*)format.Bases;
                switch (decoder)
                {
                    case "avx512": PackedBf16Avx512.Dot4(w.Row(0), w.RowBytes, bases, PackedBf16.GroupsPerRow(cols), px, py); break;
                    case "avx2": PackedBf16Avx2.Dot4(w.Row(0), w.RowBytes, bases, PackedBf16.GroupsPerRow(cols), px, py); break;
                    default: PackedBf16Vector128.Dot4(w.Row(0), w.RowBytes, bases, PackedBf16.GroupsPerRow(cols), px, py); break;
                }
                format.Corrections.AddTo(px, py, 0, 4);
            }
            for (int r = 0; r < rows; r++)
            {
                double expected = 0, scale = 0;
                for (int k = 0; k < cols; k++) { double t = BFloat16Kernels.ToSingle(data[r * cols + k]) * (double)x[k]; expected += t; scale += Math.Abs(t); }
                Assert.True(Math.Abs(expected - y[r]) <= 1e-5 * scale, $"{decoder} Dot4 row {r}: expected {expected}, got {y[r]}");
            }
        }
    }

    [Fact]
    public void A_packed_row_takes_twelve_and_a_half_bits_per_value()
    {
        const int rows = 8, cols = 2048;
        using var packed = new Packed(Values("narrow", rows, cols, 1), rows, cols);
        Assert.Equal(rows * cols * 12.5 / 8, packed.Matrix.SizeInBytes);
        Assert.Equal(2.0 * rows * cols, new WeightMatrix(Bf16Format.Instance, null, rows, cols).SizeInBytes);
    }

    [Theory]
    [MemberData(nameof(FiniteShapes))]
    public void Products_match_the_reference_over_the_original_values(string kind, int rows, int cols)
    {
        var values = Values(kind, rows, cols, rows * 13 + cols);
        // Sprinkle values far below their group's largest, so the matrix × vector kernel's corrections are exercised.
        for (int i = 5; i < values.Length; i += 97) values[i] = BFloat16Kernels.FromSingle(i % 2 == 0 ? 0f : 1e-9f);
        using var packed = new Packed(values, rows, cols);
        var w = packed.Matrix;
        Assert.True(packed.Corrections.Count > 0);
        var random = new Random(cols);
        foreach (int tokens in new[] { 1, 2, 5, 8 })
        {
            var x = Enumerable.Range(0, tokens * cols).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var y = new float[tokens * rows];
            // Two slices, as two threads would compute them; the second starts off the four-row grid.
            int split = rows / 2 | 1;
            if (split > rows) split = rows;
            MatMul.MultiplyRows(w, x, tokens, y, rows, 0, split);
            MatMul.MultiplyRows(w, x, tokens, y, rows, split, rows);
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    double expected = 0, scale = 0;
                    for (int k = 0; k < cols; k++)
                    {
                        double term = BFloat16Kernels.ToSingle(values[r * cols + k]) * (double)x[t * cols + k];
                        expected += term;
                        scale += Math.Abs(term);
                    }
                    Assert.True(Math.Abs(expected - y[t * rows + r]) <= 1e-5 * Math.Max(scale, 1e-3),
                        $"{kind} {rows}x{cols} tokens={tokens} t={t} r={r}: expected {expected}, got {y[t * rows + r]}");
                }
        }
        var widened = new float[cols];
        MatVec.WidenRow(w, rows - 1, widened);
        for (int k = 0; k < cols; k++) Assert.Equal(BFloat16Kernels.ToSingle(values[(rows - 1) * cols + k]), widened[k]);
    }

    [Fact]
    public void Rows_that_are_not_a_multiple_of_two_groups_cannot_be_packed()
    {
        Assert.False(PackedBf16.CanPack(64));
        Assert.False(PackedBf16.CanPack(0));
        Assert.True(PackedBf16.CanPack(128));
        Assert.True(PackedBf16.CanPack(2048));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => PackedBf16.Pack(null, 1, 192, null, null, new WeightCorrections.Builder()));
        Assert.Equal("cols", ex.ParamName);
    }
}
