namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// How the rows of a <see cref="WeightMatrix"/> are stored, and every kernel that reads them: its byte size, its
/// matrix × vector product, its row widening and the rows it hands the GEMM. One sealed subclass per format, each in
/// its own folder; the generic kernels (<see cref="MatVec"/>, <see cref="MatMul"/>) and the model call through this
/// and never branch on the format. Formats without per-matrix data are singletons; a format that keeps side data
/// (group bases, say) is one instance per matrix.
/// </summary>
internal abstract unsafe class WeightFormat
{
    /// <summary>Short lower-case name ("bf16", "packed-bf16"), for messages and reports.</summary>
    public abstract string Name { get; }

    /// <summary>True when rows of <paramref name="cols"/> values can be stored (block formats need whole blocks).</summary>
    public virtual bool CanStore(int cols) => true;

    /// <summary>Bytes from one stored row to the next.</summary>
    public abstract long RowBytes(int cols);

    /// <summary>Bytes <paramref name="w"/> occupies, side data included.</summary>
    public virtual long SizeInBytes(in WeightMatrix w) => w.Rows * w.RowBytes;

    /// <summary>False when the matrix keeps data outside its rows, so a range of rows is not a matrix by itself.</summary>
    public virtual bool RowsAreSelfContained => true;

    /// <summary>y[r] = W[r]·x for r in [rowStart, rowEnd); y is indexed by row number. Arguments are checked by the caller.</summary>
    public abstract void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd);

    /// <summary>destination = (float)W[row], Cols values.</summary>
    public abstract void WidenRow(in WeightMatrix w, int row, float* destination);

    /// <summary>
    /// True when the format can hand the GEMM its rows as bf16 values (<see cref="Bf16Rows"/>), which the AVX-512
    /// GEMM widens in registers; other formats are widened row by row to float32 rows the GEMM reads (<see cref="WidenRow"/>).
    /// </summary>
    public virtual bool HasBf16Rows => false;

    /// <summary>
    /// Rows [row, row + count) (count ≤ 4) as bf16 values, Cols apart: a pointer into the stored rows, or
    /// <paramref name="scratch"/> (room for 4 × Cols values) after decoding them there.
    /// </summary>
    public virtual ushort* Bf16Rows(in WeightMatrix w, int row, int count, ushort* scratch) =>
        throw new NotSupportedException($"{Name} rows are not bf16.");

    /// <summary>
    /// The most tokens the format multiplies faster row by row (<see cref="MultiplyRowsPerToken"/>: each row read once
    /// and dotted with every token while it is in L1) than through the GEMM's widened float32 rows; 0 when it has no such path.
    /// </summary>
    public virtual int RowwiseTokenLimit => 0;

    /// <summary>
    /// Y[t, r] = W[r]·X[t] for rows r in [rowStart, rowEnd) and tokens t &lt; <paramref name="tokens"/> ≤
    /// <see cref="RowwiseTokenLimit"/>; X is [tokens, Cols], Y is [tokens, ldy] indexed by row number.
    /// </summary>
    public virtual void MultiplyRowsPerToken(in WeightMatrix w, float* x, int tokens, float* y, int ldy, int rowStart, int rowEnd) =>
        throw new NotSupportedException($"{Name} has no row-by-row product for several tokens.");

    public override string ToString() => Name;
}
