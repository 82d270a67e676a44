using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// Y_i = X·W_iᵀ for up to three matrices that share one input block (q, k and v, say) as one parallel job whose
/// items are the rows of all matrices end to end, so the threads split the combined work evenly. X is
/// [tokens, cols]; each Y_i is [tokens, W_i.Rows].
/// </summary>
internal sealed class ProjectionJob : IRangeJob
{
    /// <summary>Thread slices start on multiples of the four-row kernels.</summary>
    public const int RowGranularity = 4;

    private readonly WeightMatrix[] _matrices = new WeightMatrix[3];
    private readonly float[][] _outputs = new float[3][];
    private int _count;
    private int _tokens;
    private float[] _input = [];

    public void Run(WorkerPool pool, float[] x, int tokens, WeightMatrix w, float[] y)
    {
        Set(x, tokens, 1);
        (_matrices[0], _outputs[0]) = (w, y);
        pool.Run(this, w.Rows, RowGranularity, ChunksPerThread(tokens));
    }

    public void Run(WorkerPool pool, float[] x, int tokens, WeightMatrix w0, float[] y0, WeightMatrix w1, float[] y1, WeightMatrix w2, float[] y2)
    {
        Set(x, tokens, 3);
        (_matrices[0], _matrices[1], _matrices[2]) = (w0, w1, w2);
        (_outputs[0], _outputs[1], _outputs[2]) = (y0, y1, y2);
        pool.Run(this, w0.Rows + w1.Rows + w2.Rows, RowGranularity, ChunksPerThread(tokens));
    }

    /// <summary>
    /// One token streams rows through the mat-vec: small chunks balance the threads at no cost. More tokens go
    /// through the GEMM, which packs its tokens once per call: one slice per thread.
    /// </summary>
    public static int ChunksPerThread(int tokens) => tokens == 1 ? 8 : 1;

    private void Set(float[] x, int tokens, int count)
    {
        _input = x;
        _tokens = tokens;
        _count = count;
    }

    public void Execute(int start, int end)
    {
        int offset = 0;
        for (int i = 0; i < _count && start < end; i++)
        {
            var w = _matrices[i];
            int from = Math.Max(start, offset), to = Math.Min(end, offset + w.Rows);
            if (from < to) MatMul.MultiplyRows(w, _input, _tokens, _outputs[i], w.Rows, from - offset, to - offset);
            offset += w.Rows;
        }
    }
}
