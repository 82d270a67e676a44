using static OlmoeSharp.Tensors.Formats.Q4_KInterleaved;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// A Q4_K matrix re-laid sixteen rows at a time (<see cref="Q4_KInterleaved"/>) by <see cref="Q4_KInterleavedEncoder"/>
/// at load. Its mat-vec computes a group of rows per call; a row range that cuts a group computes the whole group and
/// keeps its share. The values are Q4_K's, so widened rows (for the GEMM and the few-token path) are bit for bit those
/// of the stored matrix.
/// </summary>
internal sealed unsafe class Q4_KInterleavedFormat : WeightFormat
{
    public static readonly Q4_KInterleavedFormat Instance = new();

    private Q4_KInterleavedFormat() { }

    public override string Name => "q4_k-x16";

    public override bool CanStore(int cols) => cols % SuperBlock == 0;

    public override long RowBytes(int cols) => Q4_KInterleaved.RowBytes(cols);

    /// <summary>A row is spread over its group: only whole groups, sliced before encoding, are matrices.</summary>
    public override bool RowsAreSelfContained => false;

    private static byte* Group(in WeightMatrix w, int group) => w.Data + (long)group * GroupRows * w.RowBytes;

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd)
    {
        if (rowStart >= rowEnd) return;
        int superBlocks = w.Cols / SuperBlock;
        // x is quantized once per call, as the row-layout kernels do.
        var activations = Int16Activations.Quantize(x, w.Cols);
        float* group = stackalloc float[GroupRows];
        for (int g = rowStart / GroupRows; g * GroupRows < rowEnd; g++)
        {
            int first = g * GroupRows;
            if (first >= rowStart && first + GroupRows <= rowEnd)
            {
                Q4_KInterleavedKernels.DotGroup(Group(w, g), superBlocks, activations, y + first);
                continue;
            }
            Q4_KInterleavedKernels.DotGroup(Group(w, g), superBlocks, activations, group);
            for (int r = Math.Max(first, rowStart); r < Math.Min(first + GroupRows, rowEnd); r++) y[r] = group[r - first];
        }
    }

    public override void WidenRow(in WeightMatrix w, int row, float* destination) =>
        Q4_KInterleaved.WidenRow(Group(w, row / GroupRows), row % GroupRows, w.Cols / SuperBlock, destination);

    /// <summary>As the row-layout Q4_K: up to four tokens through the integer kernel, one token at a time.</summary>
    public override int RowwiseTokenLimit => Q4_KInterleavedKernels.HasVectorKernel ? 4 : 0;

    public override void MultiplyRowsPerToken(in WeightMatrix w, float* x, int tokens, float* y, int ldy, int rowStart, int rowEnd)
    {
        if (tokens > RowwiseTokenLimit) throw new NotSupportedException($"{Name} takes at most {RowwiseTokenLimit} tokens row by row.");
        int n = w.Cols, superBlocks = n / SuperBlock;
        var activations = ThreadScratch.Int16ActivationSet(tokens);
        for (int t = 0; t < tokens; t++) activations[t].Fill(x + (long)t * n, n);
        float* group = stackalloc float[GroupRows];
        for (int g = rowStart / GroupRows; g * GroupRows < rowEnd; g++)
        {
            int first = g * GroupRows, from = Math.Max(first, rowStart), to = Math.Min(first + GroupRows, rowEnd);
            for (int t = 0; t < tokens; t++)
            {
                Q4_KInterleavedKernels.DotGroup(Group(w, g), superBlocks, activations[t], group);
                for (int r = from; r < to; r++) y[(long)t * ldy + r] = group[r - first];
            }
        }
    }
}
