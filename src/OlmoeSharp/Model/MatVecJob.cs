using OlmoeSharp.Tensors;

namespace OlmoeSharp.Model;

/// <summary>
/// y_i = W_i·x for up to three matrices that share one input (q, k and v, say), run as one parallel job whose items
/// are the rows of all matrices end to end, so the threads split the combined work evenly.
/// </summary>
internal sealed class MatVecJob : IRangeJob
{
    private readonly WeightMatrix[] _matrices = new WeightMatrix[3];
    private readonly float[][] _outputs = new float[3][];
    private int _count;
    private float[] _input = [];

    public void Run(WorkerPool pool, float[] x, WeightMatrix w, float[] y)
    {
        _input = x;
        _count = 1;
        _matrices[0] = w;
        _outputs[0] = y;
        pool.Run(this, w.Rows, RowGranularity);
    }

    public void Run(WorkerPool pool, float[] x, WeightMatrix w0, float[] y0, WeightMatrix w1, float[] y1, WeightMatrix w2, float[] y2)
    {
        _input = x;
        _count = 3;
        (_matrices[0], _matrices[1], _matrices[2]) = (w0, w1, w2);
        (_outputs[0], _outputs[1], _outputs[2]) = (y0, y1, y2);
        pool.Run(this, w0.Rows + w1.Rows + w2.Rows, RowGranularity);
    }

    public void Execute(int start, int end)
    {
        int offset = 0;
        for (int i = 0; i < _count && start < end; i++)
        {
            int rows = _matrices[i].Rows;
            int from = Math.Max(start, offset), to = Math.Min(end, offset + rows);
            if (from < to) MatVec.MultiplyRows(_matrices[i], _input, _outputs[i], from - offset, to - offset);
            offset += rows;
        }
    }

    /// <summary>Thread slices start on multiples of the four-row kernel.</summary>
    public const int RowGranularity = 4;
}
