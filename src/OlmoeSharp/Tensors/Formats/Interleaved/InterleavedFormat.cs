namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// A ggml block-quantized matrix re-laid sixteen rows at a time by <see cref="InterleavingEncoder"/> at load, so that
/// the mat-vec holds one row per vector lane (<see cref="Q4_KInterleaved"/>, <see cref="Q6_KInterleaved"/>,
/// <see cref="Q4_0Interleaved"/>); a group block is 256 columns. Groups of
/// rows follow one another, each its super-blocks in order; a row range that cuts a group computes the whole group and
/// keeps its share. The values are the stored type's, so widened rows (for the GEMM and embedding lookups) are bit for
/// bit those of the stored matrix; only the order of summation in the products differs.
/// </summary>
internal abstract unsafe class InterleavedFormat : WeightFormat
{
    public const int GroupRows = 16;
    public const int SuperBlock = 256;

    /// <summary>The stored format this one re-lays.</summary>
    public abstract GgmlBlockFormat Source { get; }

    /// <summary>Bytes of one group's super-block.</summary>
    public abstract int GroupBlockBytes { get; }

    /// <summary>results[0..16) = the 16 rows of the group at <paramref name="group"/> · x, in vector registers (<see cref="InterleavedKernels.HasVectorKernel"/>).</summary>
    protected abstract void DotGroup(byte* group, int superBlocks, Int16Activations x, float* results);

    /// <summary>
    /// results[16t … 16t + 16) = the group's rows · x[t] for the four tokens, the weights decoded once for the four, each
    /// token bit for bit what <see cref="DotGroup"/> gives it (vector kernels only).
    /// </summary>
    protected abstract void DotGroup4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results);

    /// <summary>Row <paramref name="r"/> (0–15) of the group at <paramref name="group"/> widened to float32, exactly as the stored type dequantizes.</summary>
    public abstract void WidenGroupRow(byte* group, int r, int superBlocks, float* destination);

    /// <summary>Writes row <paramref name="r"/> (0–15) of a group's 256 columns at <paramref name="destination"/>, from the stored row's bytes of those columns at <paramref name="block"/>.</summary>
    protected abstract void InterleaveRow(byte* block, byte* destination, int r);

    /// <summary>Re-lays <paramref name="source"/> (of <see cref="Source"/>, rows a multiple of 16) into <paramref name="target"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // runs for gigabytes during one load, mostly before tiering would kick in
    public void Interleave(in WeightMatrix source, byte* target)
    {
        int superBlocks = source.Cols / SuperBlock, blockBytes = (int)Source.RowBytes(SuperBlock), groupBlockBytes = GroupBlockBytes;
        for (int g = 0; g < source.Rows / GroupRows; g++)
        {
            for (int s = 0; s < superBlocks; s++)
            {
                byte* destination = target + ((long)g * superBlocks + s) * groupBlockBytes;
                for (int r = 0; r < GroupRows; r++) InterleaveRow(source.Row(g * GroupRows + r) + s * blockBytes, destination, r);
            }
        }
    }

    public bool CanInterleave(in WeightMatrix source) =>
        source.Format == Source && source.Rows % GroupRows == 0 && source.Cols % SuperBlock == 0;

    public override bool CanStore(int cols) => cols % SuperBlock == 0;

    /// <summary>Bytes per row, averaged over a group: group g starts at g · 16 · RowBytes.</summary>
    public override long RowBytes(int cols) => (long)(cols / SuperBlock) * (GroupBlockBytes / GroupRows);

    /// <summary>A row is spread over its group: only whole groups, sliced before encoding, are matrices.</summary>
    public override bool RowsAreSelfContained => false;

    private static byte* Group(in WeightMatrix w, int group) => w.Data + (long)group * GroupRows * w.RowBytes;

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        if (rowStart >= rowEnd) return;
        // x is quantized once per call, as the row-layout kernels do.
        var activations = Int16Activations.Quantize(x, w.Cols);
        MultiplyGroups(w, activations, y, rowStart, rowEnd);
    }

    /// <summary>
    /// Every block of tokens the forward pass makes (up to <see cref="MaxRowwiseTokens"/>) goes through the integer
    /// kernel, each token's products exactly its mat-vec's; group by group, four tokens per pass while the group is
    /// in L1, so the matrix is read once for all of them. The row-layout formats stop at four, past which widening
    /// into float32 panels pays; here a group's integer product costs so little that it beats widening at any count
    /// the forward pass hands over — experts chosen by a batch's sequences or a prompt's tokens, and the attention
    /// projections of a whole prompt block (packed Q4_K_M, 2 threads, Zen 4, 128-token prompt, tok/s at limit
    /// 16 / 64 / 128 / 256: AVX-512 65–67 / 76–80 / 81–85 / 85–88, AVX2 47–67 at every limit (the VM's noise); a 512-token
    /// prompt at 16 / 256: 62 / 85 on AVX-512, 49 / 59 on AVX2). A format whose kernel costs more per weight may stop
    /// earlier on a CPU (<see cref="VectorTokenLimit"/>). Without the vector kernels (ARM64, old x64) a row is widened
    /// per token, so the GEMM's panels, widened once for all tokens, take every product of several.
    /// </summary>
    public sealed override int RowwiseTokenLimit => InterleavedKernels.HasVectorKernel ? VectorTokenLimit : 0;

    /// <summary>The most tokens the vector kernels take row by row on this CPU: <see cref="MaxRowwiseTokens"/> unless a format measured otherwise.</summary>
    protected virtual int VectorTokenLimit => MaxRowwiseTokens;

    /// <summary>The largest block of tokens the row-by-row product takes: a prefill block of the forward pass.</summary>
    protected const int MaxRowwiseTokens = 256;

    public override void MultiplyRowsPerToken(in WeightMatrix w, float* x, int tokens, float* y, int ldy, int rowStart, int rowEnd)
    {
        if (tokens > RowwiseTokenLimit) throw new NotSupportedException($"{Name} takes at most {RowwiseTokenLimit} tokens row by row.");
        int n = w.Cols;
        var activations = ThreadScratch.Int16ActivationSet(tokens);
        for (int t = 0; t < tokens; t++) activations[t].Fill(x + (long)t * n, n);
        int superBlocks = n / SuperBlock;
        float* group = stackalloc float[4 * GroupRows];
        for (int g = rowStart / GroupRows; g * GroupRows < rowEnd; g++)
        {
            int t = 0;
            for (; t + 4 <= tokens; t += 4)
            {
                DotGroup4(Group(w, g), superBlocks, activations[t], activations[t + 1], activations[t + 2], activations[t + 3], group);
                for (int k = 0; k < 4; k++) Keep(group + k * GroupRows, g, y + (long)(t + k) * ldy, rowStart, rowEnd);
            }
            for (; t < tokens; t++)
            {
                DotGroup(Group(w, g), superBlocks, activations[t], group);
                Keep(group, g, y + (long)t * ldy, rowStart, rowEnd);
            }
        }
    }

    private void MultiplyGroups(in WeightMatrix w, Int16Activations x, float* y, int rowStart, int rowEnd)
    {
        int superBlocks = w.Cols / SuperBlock;
        bool vector = InterleavedKernels.HasVectorKernel;
        float* group = stackalloc float[GroupRows];
        for (int g = rowStart / GroupRows; g * GroupRows < rowEnd; g++)
        {
            int first = g * GroupRows;
            if (first >= rowStart && first + GroupRows <= rowEnd)
            {
                Dot(vector, Group(w, g), superBlocks, x, y + first);
                continue;
            }
            Dot(vector, Group(w, g), superBlocks, x, group);
            Keep(group, g, y, rowStart, rowEnd);
        }
    }

    /// <summary>y[r] = the group's result for each of its rows r inside [rowStart, rowEnd).</summary>
    private static void Keep(float* results, int g, float* y, int rowStart, int rowEnd)
    {
        int first = g * GroupRows;
        for (int r = Math.Max(first, rowStart); r < Math.Min(first + GroupRows, rowEnd); r++) y[r] = results[r - first];
    }

    private void Dot(bool vector, byte* group, int superBlocks, Int16Activations x, float* results)
    {
        if (vector) DotGroup(group, superBlocks, x, results);
        else InterleavedKernels.DotScalar(this, group, superBlocks, x, results);
    }

    public override void WidenRow(in WeightMatrix w, int row, float* destination) =>
        WidenGroupRow(Group(w, row / GroupRows), row % GroupRows, w.Cols / SuperBlock, destination);
}
