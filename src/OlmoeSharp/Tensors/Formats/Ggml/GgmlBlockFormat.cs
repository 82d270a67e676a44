using System.Numerics.Tensors;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Rows stored as ggml blocks (GGUF's quantized types): each row is Cols / <see cref="BlockSize"/> blocks of
/// <see cref="BlockBytes"/> bytes, with no data outside the rows. A type supplies <see cref="DequantizeBlock"/>, which
/// must give exactly ggml's dequantized values (same operations in the same order, float32, no fused multiply-add);
/// the generic kernels here widen a row and take its dot product, which is correct for every type. The types that
/// matter for speed supply an integer dot product (<see cref="Int16Dot"/>) that the mat-vec uses instead.
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

    /// <summary>The type's vectorised row widening (row, destination, blocks) on this CPU, giving exactly <see cref="DequantizeBlock"/>'s values; null to widen block by block.</summary>
    protected virtual delegate*<byte*, float*, int, void> VectorWiden => null;

    public override void WidenRow(in WeightMatrix w, int row, float* destination)
    {
        var widen = VectorWiden;
        if (widen != null)
        {
            widen(w.Row(row), destination, w.Cols / BlockSize);
            return;
        }
        byte* block = w.Row(row);
        for (int i = 0; i < w.Cols; i += BlockSize, block += BlockBytes)
            DequantizeBlock(block, destination + i);
    }

    /// <summary>
    /// The type's integer dot product of one row (its blocks, counted in <see cref="BlockSize"/>s) with x quantized
    /// to int16, when this CPU has one; null for the generic float path.
    /// </summary>
    protected virtual delegate*<byte*, int, Int16Activations, float> Int16Dot => null;

    /// <summary>
    /// The type's integer dot products of one row with 2–<see cref="RowwiseTokenLimit"/> tokens at once (row, blocks,
    /// the tokens' activations, their count, the results), unpacking each block of quants once for all of them; null
    /// to dot the tokens one at a time with <see cref="Int16Dot"/>.
    /// </summary>
    protected virtual delegate*<byte*, int, Int16Activations[], int, float*, void> Int16DotTokens => null;

    /// <summary>Whether the mat-vec rounds x to int16 blocks (<see cref="Int16Activations"/>) and uses an integer kernel on this CPU.</summary>
    public bool HasInt16Kernel => Int16Dot != null;

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        int n = w.Cols;
        var dot = Int16Dot;
        if (dot != null)
        {
            // x is quantized once per call, not per row: a cost of one row for a range of hundreds.
            var activations = Int16Activations.Quantize(x, n);
            int blocks = n / BlockSize;
            for (int r = rowStart; r < rowEnd; r++) y[r] = dot(w.Row(r), blocks, activations);
            return;
        }
        fixed (float* row = ThreadScratch.Row(n))
        {
            for (int r = rowStart; r < rowEnd; r++)
            {
                WidenRow(w, r, row);
                y[r] = TensorPrimitives.Dot(new ReadOnlySpan<float>(row, n), new ReadOnlySpan<float>(x, n));
            }
        }
    }

    /// <summary>
    /// Up to four tokens go row by row through the integer kernel: the GEMM would first widen every weight to
    /// float32, which costs more than the integer dot products of a few tokens (with 8–16 sequences decoding
    /// together, most experts are chosen by one to three of them). Limits of 4 and 8 measured alike on a Q4_K_M file
    /// (8 streams 15.2 / 16.0 tok/s, 16 streams 18.8 / 19.1, AVX-512); 4 leaves the larger blocks of a prompt
    /// (≈16 tokens per expert) to the GEMM, which shares each widened weight among them.
    /// </summary>
    public override int RowwiseTokenLimit => Int16Dot != null ? 4 : 0;

    public override void MultiplyRowsPerToken(in WeightMatrix w, float* x, int tokens, float* y, int ldy, int rowStart, int rowEnd)
    {
        var dot = Int16Dot;
        if (dot == null || tokens > RowwiseTokenLimit) throw new NotSupportedException($"{Name} takes at most {RowwiseTokenLimit} tokens row by row.");
        int n = w.Cols, blocks = n / BlockSize;
        // Each token quantized once into its own buffer of the calling thread.
        var activations = ThreadScratch.Int16ActivationSet(tokens);
        for (int t = 0; t < tokens; t++) activations[t].Fill(x + (long)t * n, n);
        var dots = Int16DotTokens;
        if (dots != null && tokens > 1)
        {
            float* results = stackalloc float[tokens];
            for (int r = rowStart; r < rowEnd; r++)
            {
                dots(w.Row(r), blocks, activations, tokens, results);
                for (int t = 0; t < tokens; t++) y[(long)t * ldy + r] = results[t];
            }
            return;
        }
        for (int r = rowStart; r < rowEnd; r++)
        {
            byte* row = w.Row(r);
            for (int t = 0; t < tokens; t++) y[(long)t * ldy + r] = dot(row, blocks, activations[t]);
        }
    }

    /// <summary>An IEEE half stored little-endian at <paramref name="p"/>, widened exactly (ggml's GGML_FP16_TO_FP32).</summary>
    protected static float Half(byte* p) => GgmlBits.ExactHalf(p);
}
