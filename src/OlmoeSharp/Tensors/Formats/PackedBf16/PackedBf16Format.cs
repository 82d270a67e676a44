namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// A matrix re-encoded by <see cref="PackedBf16"/>: its rows hold low bytes and 4-bit codes; the group bases and the
/// values the codes cannot express are kept per matrix, so each packed matrix has its own instance of this format.
/// </summary>
internal sealed unsafe class PackedBf16Format : WeightFormat
{
    private PackedBf16Format(byte* bases, WeightCorrections corrections)
    {
        Bases = bases;
        Corrections = corrections;
    }

    /// <summary>The base plane: one 32-bit word per group of every row (<see cref="PackedBf16"/>).</summary>
    public byte* Bases { get; }

    /// <summary>The values the codes cannot express.</summary>
    public WeightCorrections Corrections { get; }

    /// <summary>A packed matrix: rows in <paramref name="payload"/>, group bases in <paramref name="bases"/>.</summary>
    public static WeightMatrix Matrix(byte* payload, byte* bases, WeightCorrections corrections, int rows, int cols) =>
        new(new PackedBf16Format(bases, corrections), payload, rows, cols);

    /// <summary>The packed format of <paramref name="w"/> (which must be packed).</summary>
    public static PackedBf16Format Of(in WeightMatrix w) => (PackedBf16Format)w.Format;

    public override string Name => "packed-bf16";

    public override bool CanStore(int cols) => PackedBf16.CanPack(cols);

    public override long RowBytes(int cols) => PackedBf16.RowBytes(cols);

    public override long SizeInBytes(in WeightMatrix w) =>
        w.Rows * (w.RowBytes + PackedBf16.BaseBytesPerRow(w.Cols)) + Corrections.SizeInBytes;

    public override bool RowsAreSelfContained => false;

    public override void MultiplyRows(in WeightMatrix w, float* x, float* y, int rowStart, int rowEnd) =>
        PackedBf16Kernels.MultiplyRows(w, x, y, rowStart, rowEnd);

    public override void WidenRow(in WeightMatrix w, int row, float* destination)
    {
        fixed (ushort* decoded = ThreadScratch.DecodedRow(w.Cols))
        {
            PackedBf16Kernels.DecodeRows(w, row, 1, decoded);
            BFloat16Kernels.Widen(decoded, destination, w.Cols);
        }
    }

    public override bool HasBf16Rows => true;

    public override ushort* Bf16Rows(in WeightMatrix w, int row, int count, ushort* scratch)
    {
        PackedBf16Kernels.DecodeRows(w, row, count, scratch);
        return scratch;
    }
}
