using System.Numerics.Tensors;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Rows stored as ggml blocks (GGUF's quantized types): each row is Cols / <see cref="BlockSize"/> blocks of
/// <see cref="BlockBytes"/> bytes, with no data outside the rows. A type supplies <see cref="DequantizeBlock"/>, which
/// must give exactly ggml's dequantized values (same operations in the same order, float32, no fused multiply-add);
/// the generic kernels here widen a row and take its dot product, which is correct for every type. The types that
/// matter for speed override <see cref="WeightFormat.MultiplyRows"/> with kernels of their own.
/// </summary>
internal abstract unsafe class GgmlBlockFormat : WeightFormat
{
    /// <summary>Values per block: 32, or 256 for the K-quants' super-blocks.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Bytes per block.</summary>
    public abstract int BlockBytes { get; }

    public override bool CanStore(int cols) => cols % BlockSize == 0;

    public override long RowBytes(int cols) => (long)(cols / BlockSize) * BlockBytes;

    /// <summary>destination[0..BlockSize) = the values of the block at <paramref name="block"/>, as ggml's dequantizer computes them.</summary>
    public abstract void DequantizeBlock(byte* block, float* destination);

    public override void WidenRow(in WeightMatrix w, int row, float* destination)
    {
        byte* block = w.Row(row);
        for (int i = 0; i < w.Cols; i += BlockSize, block += BlockBytes)
            DequantizeBlock(block, destination + i);
    }

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        int n = w.Cols;
        fixed (float* row = ThreadScratch.Row(n))
        {
            for (int r = rowStart; r < rowEnd; r++)
            {
                WidenRow(w, r, row);
                y[r] = TensorPrimitives.Dot(new ReadOnlySpan<float>(row, n), new ReadOnlySpan<float>(x, n));
            }
        }
    }

    /// <summary>An IEEE half stored little-endian at <paramref name="p"/>, widened exactly (ggml's GGML_FP16_TO_FP32).</summary>
    protected static float Half(byte* p) => (float)BitConverter.UInt16BitsToHalf(*(ushort*)p);
}
