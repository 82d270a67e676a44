namespace OlmoeSharp.Tensors.Formats;

/// <summary>Rows as float32: copied.</summary>
internal sealed unsafe class F32RowQuantizer : RowQuantizer
{
    public static readonly F32RowQuantizer Instance = new();

    private F32RowQuantizer() { }

    public override WeightFormat Format => F32Format.Instance;

    public override void QuantizeRow(float* x, byte* destination, int cols) =>
        new ReadOnlySpan<float>(x, cols).CopyTo(new Span<float>(destination, cols));
}

/// <summary>Rows as IEEE halves, rounded to nearest even (values past ±65504 become infinities, as in ggml).</summary>
internal sealed unsafe class F16RowQuantizer : RowQuantizer
{
    public static readonly F16RowQuantizer Instance = new();

    private F16RowQuantizer() { }

    public override WeightFormat Format => F16Format.Instance;

    public override void QuantizeRow(float* x, byte* destination, int cols)
    {
        var halves = (Half*)destination;
        for (int i = 0; i < cols; i++) halves[i] = (Half)x[i];
    }
}

/// <summary>Rows as bfloat16, rounded to nearest even (NaNs stay NaNs), as torch rounds them.</summary>
internal sealed unsafe class Bf16RowQuantizer : RowQuantizer
{
    public static readonly Bf16RowQuantizer Instance = new();

    private Bf16RowQuantizer() { }

    public override WeightFormat Format => Bf16Format.Instance;

    public override void QuantizeRow(float* x, byte* destination, int cols)
    {
        var values = (ushort*)destination;
        for (int i = 0; i < cols; i++) values[i] = BFloat16Kernels.FromSingle(x[i]);
    }
}
