namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The few values of a packed matrix its 4-bit codes cannot express (<see cref="PackedBf16"/>), sorted by row then
/// column. Kernels that decode rows write the true values back; the matrix × vector kernel, which never builds the
/// row, adds (true − decoded)·x afterwards.
/// </summary>
internal sealed unsafe class WeightCorrections
{
    private readonly int[] _rows;
    private readonly int[] _cols;
    private readonly ushort[] _values;
    private readonly float[] _deltas;

    private WeightCorrections(int[] rows, int[] cols, ushort[] values, float[] deltas)
    {
        _rows = rows;
        _cols = cols;
        _values = values;
        _deltas = deltas;
    }

    /// <summary>How many values are corrected.</summary>
    public int Count => _rows.Length;

    /// <summary>Memory the corrections take.</summary>
    public long SizeInBytes => Count * (sizeof(int) * 2L + sizeof(ushort) + sizeof(float));

    /// <summary>Writes the true values of <paramref name="row"/> into its decoded bf16 values.</summary>
    public void Patch(int row, ushort* decoded)
    {
        for (int i = First(row); i < _rows.Length && _rows[i] == row; i++) decoded[_cols[i]] = _values[i];
    }

    /// <summary>y[r] += Σ (true − decoded)·x[col] over the corrections of rows [rowStart, rowEnd).</summary>
    public void AddTo(float* x, float* y, int rowStart, int rowEnd)
    {
        for (int i = First(rowStart); i < _rows.Length && _rows[i] < rowEnd; i++) y[_rows[i]] += _deltas[i] * x[_cols[i]];
    }

    /// <summary>Index of the first correction at or after <paramref name="row"/>.</summary>
    private int First(int row)
    {
        int lo = 0, hi = _rows.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_rows[mid] < row) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Collects corrections while a matrix is packed, in any order.</summary>
    internal sealed class Builder
    {
        private readonly List<(int Row, int Col, ushort Value, float Delta)> _entries = [];

        public void Add(int row, int col, ushort value, ushort decoded) =>
            _entries.Add((row, col, value, BFloat16Kernels.ToSingle(value) - BFloat16Kernels.ToSingle(decoded)));

        public WeightCorrections Build()
        {
            _entries.Sort((a, b) => a.Row != b.Row ? a.Row.CompareTo(b.Row) : a.Col.CompareTo(b.Col));
            var rows = new int[_entries.Count];
            var cols = new int[_entries.Count];
            var values = new ushort[_entries.Count];
            var deltas = new float[_entries.Count];
            for (int i = 0; i < _entries.Count; i++) (rows[i], cols[i], values[i], deltas[i]) = _entries[i];
            return new WeightCorrections(rows, cols, values, deltas);
        }
    }
}
