namespace OlmoeSharp.Tensors.Formats;

/// <summary>bfloat16 rows as a checkpoint stores them: widened by a shift, read at memory bandwidth (<see cref="BFloat16Kernels"/>).</summary>
internal sealed unsafe class Bf16Format : WeightFormat
{
    public static readonly Bf16Format Instance = new();

    private Bf16Format() { }

    public override string Name => "bf16";

    public override long RowBytes(int cols) => (long)cols * sizeof(ushort);

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        int r = rowStart;
        for (; r <= rowEnd - 4; r += 4)
            BFloat16Kernels.Dot4((ushort*)w.Row(r), w.Cols, x, w.Cols, y + r);
        for (; r < rowEnd; r++)
            y[r] = BFloat16Kernels.Dot((ushort*)w.Row(r), x, w.Cols);
    }

    public override void WidenRow(in WeightMatrix w, int row, float* destination) =>
        BFloat16Kernels.Widen((ushort*)w.Row(row), destination, w.Cols);

    public override bool HasBf16Rows => true;

    public override ushort* Bf16Rows(in WeightMatrix w, int row, int count, ushort* scratch) => (ushort*)w.Row(row);
}
