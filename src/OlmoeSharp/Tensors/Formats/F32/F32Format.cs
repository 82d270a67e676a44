using System.Numerics.Tensors;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>float32 rows, used as stored.</summary>
internal sealed unsafe class F32Format : WeightFormat
{
    public static readonly F32Format Instance = new();

    private F32Format() { }

    public override string Name => "f32";

    public override long RowBytes(int cols) => (long)cols * sizeof(float);

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        var input = new ReadOnlySpan<float>(x, w.Cols);
        for (int r = rowStart; r < rowEnd; r++)
            y[r] = TensorPrimitives.Dot(new ReadOnlySpan<float>(w.Row(r), w.Cols), input);
    }

    public override void WidenRow(in WeightMatrix w, int row, float* destination) =>
        new ReadOnlySpan<float>(w.Row(row), w.Cols).CopyTo(new Span<float>(destination, w.Cols));
}
