using System.Numerics.Tensors;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>IEEE half-precision rows, widened a chunk at a time by TensorPrimitives (F16 checkpoints are rare; this is correct, not tuned).</summary>
internal sealed unsafe class F16Format : WeightFormat
{
    /// <summary>Elements of a row widened at a time: small enough for the stack, large enough to vectorise.</summary>
    private const int Chunk = 512;

    public static readonly F16Format Instance = new();

    private F16Format() { }

    public override string Name => "f16";

    public override long RowBytes(int cols) => (long)cols * sizeof(ushort);

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        int n = w.Cols;
        float* widened = stackalloc float[Chunk];
        for (int r = rowStart; r < rowEnd; r++)
        {
            Half* row = (Half*)w.Row(r);
            float sum = 0;
            for (int i = 0; i < n; i += Chunk)
            {
                int length = Math.Min(Chunk, n - i);
                var chunk = new Span<float>(widened, length);
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(row + i, length), chunk);
                sum += TensorPrimitives.Dot(chunk, new ReadOnlySpan<float>(x + i, length));
            }
            y[r] = sum;
        }
    }

    public override void WidenRow(in WeightMatrix w, int row, float* destination) =>
        TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(w.Row(row), w.Cols), new Span<float>(destination, w.Cols));
}
