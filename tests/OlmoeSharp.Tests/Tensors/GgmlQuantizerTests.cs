using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;
using OlmoeSharp.Tests.Platform;

namespace OlmoeSharp.Tests.Tensors;

/// <summary>
/// The quantizers (float32 rows → ggml blocks) read back through the formats' own dequantizers, which match
/// llama.cpp's bit for bit (<see cref="GgmlDequantizationTests"/>): so these check the block layouts are ggml's and
/// the rounding is as good as ggml's reference quantizers'. Per type: the error on Gaussian rows, values already on
/// the type's grid coming back exactly, a single spike at every position coming back at that position and nowhere
/// else, all-zero and constant blocks.
/// </summary>
[Trait("Category", "Kernels")]
public sealed unsafe class GgmlQuantizerTests
{
    public static TheoryData<GgmlType> Types() =>
        [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    /// <summary>
    /// RMS error ÷ RMS value on 64 rows of 4096 standard normal values (seed 1). Measured: Q8_0 0.00535 (the
    /// uniform-rounding estimate, step/√12 with step = E max|x| / 127, is 0.0054), Q6_K 0.0177, Q5_K 0.0361, Q5_1
    /// 0.0378, Q5_0 0.0427, Q4_K 0.0712, Q4_1 0.0781, Q4_0 0.0858 — the order and sizes of ggml's reference
    /// quantizers. Bounds: those plus 3%, so a fit that searches less (Q4_K without its 21 candidate scales measures
    /// above Q4_1's) or a rounding that truncates fails.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, 0.0055)]
    [InlineData(GgmlType.Q6_K, 0.0183)]
    [InlineData(GgmlType.Q5_K, 0.0372)]
    [InlineData(GgmlType.Q5_1, 0.0389)]
    [InlineData(GgmlType.Q5_0, 0.0440)]
    [InlineData(GgmlType.Q4_K, 0.0734)]
    [InlineData(GgmlType.Q4_1, 0.0805)]
    [InlineData(GgmlType.Q4_0, 0.0884)]
    public void Gaussian_rows_come_back_within_the_type_s_error(GgmlType type, double bound)
    {
        var random = new Random(1);
        int cols = 4096;
        double error2 = 0, value2 = 0;
        var x = new float[cols];
        for (int r = 0; r < 64; r++)
        {
            for (int i = 0; i < cols; i++) x[i] = Gaussian(random);
            var back = RoundTrip(type, x);
            for (int i = 0; i < cols; i++)
            {
                error2 += (double)(x[i] - back[i]) * (x[i] - back[i]);
                value2 += (double)x[i] * x[i];
            }
        }
        double relative = Math.Sqrt(error2 / value2);
        Assert.True(relative <= bound, $"{type}: relative RMS error {relative:F5} > {bound}");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Rows_of_a_few_blocks_come_back_close_and_finite(GgmlType type)
    {
        // Scales from 1e-3 to 1e3: the fp16 scales stay normal, every value is finite and close.
        var random = new Random((int)type);
        foreach (float scale in new[] { 1e-3f, 1f, 1e3f })
        {
            var x = new float[512];
            for (int i = 0; i < x.Length; i++) x[i] = scale * Gaussian(random);
            var back = RoundTrip(type, x);
            double error2 = 0, value2 = 0;
            for (int i = 0; i < x.Length; i++)
            {
                Assert.True(float.IsFinite(back[i]), $"{type} value {i} is {back[i]}");
                error2 += (double)(x[i] - back[i]) * (x[i] - back[i]);
                value2 += (double)x[i] * x[i];
            }
            Assert.True(Math.Sqrt(error2 / value2) < 0.1, $"{type} at scale {scale}: relative error {Math.Sqrt(error2 / value2)}");
        }
    }

    /// <summary>
    /// Values q·d (q on the type's levels, one at the extreme level that sets the scale; d an fp16 value), or m + q·d
    /// for the types with a minimum (q from 0 to the top level): quantized and dequantized, exactly the same values.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_1)]
    public void Values_on_the_type_s_grid_come_back_exactly(GgmlType type)
    {
        var random = new Random(7);
        var x = new float[32];
        for (int trial = 0; trial < 500; trial++)
        {
            // d = k·2^e with an 8-bit k: exact in fp16, and q·d and m + q·d exact in float32.
            float d = random.Next(1, 256) * MathF.Pow(2, random.Next(-16, -4)) * (random.Next(2) == 0 ? 1 : -1);
            int extreme = random.Next(32);
            switch (type)
            {
                case GgmlType.Q8_0:
                    for (int i = 0; i < 32; i++) x[i] = random.Next(-126, 127) * d;
                    x[extreme] = (random.Next(2) == 0 ? 127 : -127) * d;
                    break;
                case GgmlType.Q4_0 or GgmlType.Q5_0:
                    int half = type == GgmlType.Q4_0 ? 8 : 16;
                    // Levels −half+1 … half−1 below the largest magnitude, which is −half·d.
                    for (int i = 0; i < 32; i++) x[i] = random.Next(-half + 1, half) * d;
                    x[extreme] = -half * d;
                    break;
                default:
                    int top = type == GgmlType.Q4_1 ? 15 : 31;
                    d = MathF.Abs(d);
                    float m = random.Next(-64, 64) * MathF.Pow(2, -8);
                    for (int i = 0; i < 32; i++) x[i] = m + random.Next(0, top + 1) * d;
                    int other = (extreme + 1 + random.Next(31)) % 32;
                    x[extreme] = m;
                    x[other] = m + top * d;
                    break;
            }
            var back = RoundTrip(type, x);
            for (int i = 0; i < 32; i++)
                Assert.True(x[i] == back[i], $"{type} trial {trial} value {i}: {back[i]} for {x[i]}"); // == : 0·d may be −0 either side
        }
    }

    /// <summary>
    /// A block that is zero but for one value v, at each position in turn: the value comes back at that position
    /// (within the fp16 rounding of the scales) and every other one as exactly 0 — which pins where each position's
    /// bits and scale live in the block.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void A_single_spike_comes_back_at_its_own_position_only(GgmlType type)
    {
        var format = (GgmlBlockFormat)GgmlTypeLayout.Format(type);
        var x = new float[format.BlockSize];
        // The types with a minimum shift the zeros when the spike is negative; they get positive spikes only.
        bool symmetric = type is GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q6_K;
        foreach (float v in symmetric ? new[] { 0.75f, -3.5f } : [0.75f, 3.5f])
        {
            for (int p = 0; p < x.Length; p++)
            {
                Array.Clear(x);
                x[p] = v;
                var back = RoundTrip(type, x);
                for (int i = 0; i < x.Length; i++)
                {
                    if (i == p) Assert.True(Math.Abs(back[i] - v) <= 2e-3 * Math.Abs(v), $"{type} spike {v} at {p} came back as {back[i]}");
                    else Assert.True(back[i] == 0, $"{type} spike {v} at {p}: value {i} is {back[i]}, not 0");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void All_zero_blocks_are_zero_and_constant_blocks_are_the_constant(GgmlType type)
    {
        var format = (GgmlBlockFormat)GgmlTypeLayout.Format(type);
        var x = new float[format.BlockSize * 2];
        Assert.All(RoundTrip(type, x), v => Assert.Equal(0f, v));
        foreach (float c in new[] { 0.37f, -0.37f, 1000f })
        {
            Array.Fill(x, c);
            Assert.All(RoundTrip(type, x), v => Assert.True(Math.Abs(v - c) <= 2e-3 * Math.Abs(c), $"{type}: {v} for constant {c}"));
        }
    }

    /// <summary>
    /// The eight-lane fits give the scalar fits' levels, scales and minimums bit for bit, on groups of every kind:
    /// Gaussian, uniform, all-positive, all-negative, constant, all-zero, below GROUP_MAX_EPS, single spikes, and
    /// mixtures of them in one call (lanes that improve at different candidate scales).
    /// </summary>
    [FactWhen(typeof(KQuantFitVector), nameof(KQuantFitVector.IsSupported), "256-bit vectors are not hardware-accelerated here; the scalar fits run")]
    public void The_vector_fits_are_the_scalar_fits_bit_for_bit()
    {
        var random = new Random(17);
        float* x = stackalloc float[256];
        float* w = stackalloc float[256];
        byte* vectorLevels = stackalloc byte[256];
        byte* scalarLevels = stackalloc byte[256];
        byte* scratch = stackalloc byte[32];
        float* vectorScales = stackalloc float[8];
        float* vectorMins = stackalloc float[8];
        sbyte* vectorSigned = stackalloc sbyte[128];
        sbyte* scalarSigned = stackalloc sbyte[128];
        for (int trial = 0; trial < 3000; trial++)
        {
            for (int g = 0; g < 8; g++) FillGroup(random, x + 32 * g, 32);
            for (int i = 0; i < 256; i++) w[i] = 0.3f + MathF.Abs(x[i]);
            foreach (var (nmax, rmin, nstep) in new[] { (15, -1f, 20), (31, -0.5f, 15) })
            {
                KQuantFitVector.ScaleAndMin8(nmax, x, w, vectorLevels, vectorScales, vectorMins, rmin, 0.1f, nstep);
                for (int g = 0; g < 8; g++)
                {
                    float scale = KQuantFit.ScaleAndMin(32, nmax, x + 32 * g, w + 32 * g, scalarLevels + 32 * g, out float min, scratch, rmin, 0.1f, nstep);
                    Assert.True(Same(scale, vectorScales[g]) && Same(min, vectorMins[g]), $"trial {trial} nmax {nmax} group {g}: scale {vectorScales[g]} min {vectorMins[g]}, scalar {scale} {min}");
                }
                Assert.True(new Span<byte>(scalarLevels, 256).SequenceEqual(new Span<byte>(vectorLevels, 256)), $"trial {trial} nmax {nmax}: levels differ");
            }
            for (int g = 0; g < 8; g++) FillGroup(random, x + 16 * g, 16);
            KQuantFitVector.SymmetricScale8(32, x, vectorSigned, vectorScales);
            for (int g = 0; g < 8; g++)
            {
                float scale = KQuantFit.SymmetricScale(16, 32, x + 16 * g, scalarSigned + 16 * g);
                Assert.True(Same(scale, vectorScales[g]), $"trial {trial} group {g}: symmetric scale {vectorScales[g]}, scalar {scale}");
            }
            Assert.True(new Span<sbyte>(scalarSigned, 128).SequenceEqual(new Span<sbyte>(vectorSigned, 128)), $"trial {trial}: symmetric levels differ");
        }
    }

    private static bool Same(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    private static void FillGroup(Random random, float* x, int n)
    {
        float scale = MathF.Pow(10, random.Next(-3, 3));
        switch (random.Next(8))
        {
            case 0: for (int i = 0; i < n; i++) x[i] = scale * Gaussian(random); break;
            case 1: for (int i = 0; i < n; i++) x[i] = scale * (float)random.NextDouble(); break;
            case 2: for (int i = 0; i < n; i++) x[i] = -scale * (float)random.NextDouble(); break;
            case 3: for (int i = 0; i < n; i++) x[i] = scale * (random.Next(2) == 0 ? 1 : -1); break;
            case 4: for (int i = 0; i < n; i++) x[i] = random.Next(3) == 0 ? 0 : scale * Gaussian(random); break;
            case 5: float c = scale * Gaussian(random); for (int i = 0; i < n; i++) x[i] = c; break;
            case 6: for (int i = 0; i < n; i++) x[i] = 1e-17f * Gaussian(random); break;
            default: for (int i = 0; i < n; i++) x[i] = 0; x[random.Next(n)] = scale * Gaussian(random); break;
        }
    }

    [Fact]
    public void Nearest_int_rounds_halves_to_even_as_ggml_does()
    {
        foreach (float v in new[] { 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 3.49999f, -7.5f, 15.5f, 31.5f, 1e6f + 0.5f })
            Assert.Equal((int)MathF.Round(v, MidpointRounding.ToEven), KQuantFit.NearestInt(v));
        var random = new Random(3);
        for (int i = 0; i < 10_000; i++)
        {
            float v = (float)(random.NextDouble() * 200 - 100);
            Assert.Equal((int)MathF.Round(v, MidpointRounding.ToEven), KQuantFit.NearestInt(v));
        }
    }

    [Fact]
    public void Float_rows_round_to_nearest_even()
    {
        // 1 + 2^-8 is halfway between two bf16 values: ties to the even one (1); 1 + 3·2^-8 rounds up to 1 + 2^-6.
        float[] x = [1 + MathF.Pow(2, -8), 1 + 3 * MathF.Pow(2, -8), -2.75f, float.NaN, 1 + MathF.Pow(2, -11), 65520f];
        var bf16 = Quantize(Bf16Format.Instance, x);
        Assert.Equal(BFloat16Kernels.FromSingle(1f), BitConverter.ToUInt16(bf16, 0));
        Assert.Equal(BFloat16Kernels.FromSingle(1 + MathF.Pow(2, -6)), BitConverter.ToUInt16(bf16, 2));
        Assert.Equal(-2.75f, Widen(Bf16Format.Instance, bf16, x.Length)[2]);
        Assert.True(float.IsNaN(Widen(Bf16Format.Instance, bf16, x.Length)[3]));
        var f16 = Widen(F16Format.Instance, Quantize(F16Format.Instance, x), x.Length);
        Assert.Equal(1f, f16[4]); // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even
        Assert.True(float.IsPositiveInfinity(f16[5])); // past the largest half
        Assert.Equal(x, Widen(F32Format.Instance, Quantize(F32Format.Instance, x), x.Length));
    }

    private static float[] RoundTrip(GgmlType type, float[] x)
    {
        var format = GgmlTypeLayout.Format(type);
        return Widen(format, Quantize(format, x), x.Length);
    }

    private static byte[] Quantize(WeightFormat format, float[] x)
    {
        var bytes = new byte[format.RowBytes(x.Length)];
        RowQuantizers.For(format).QuantizeRow(x, bytes);
        return bytes;
    }

    /// <summary>The row as the format's dequantizer reads it (for the block types, block by block with DequantizeBlock).</summary>
    private static float[] Widen(WeightFormat format, byte[] bytes, int cols)
    {
        var values = new float[cols];
        fixed (byte* b = bytes)
        fixed (float* v = values)
        {
            if (format is GgmlBlockFormat block)
                for (int i = 0; i < cols / block.BlockSize; i++) block.DequantizeBlock(b + i * block.BlockBytes, v + i * block.BlockSize);
            else
                format.WidenRow(new WeightMatrix(format, b, 1, cols), 0, v);
        }
        return values;
    }

    private static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
