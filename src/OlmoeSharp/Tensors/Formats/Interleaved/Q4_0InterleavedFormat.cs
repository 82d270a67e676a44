namespace OlmoeSharp.Tensors.Formats;

/// <summary>Q4_0 re-laid sixteen rows at a time: <see cref="Q4_0Interleaved"/>'s layout, <see cref="Q4_0InterleavedKernels"/>' products.</summary>
internal sealed unsafe class Q4_0InterleavedFormat : InterleavedFormat
{
    public static readonly Q4_0InterleavedFormat Instance = new();

    private Q4_0InterleavedFormat() { }

    public override string Name => "q4_0-x16";

    public override GgmlBlockFormat Source => Q4_0Format.Instance;

    public override int GroupBlockBytes => Q4_0Interleaved.GroupBlockBytes;

    protected override void DotGroup(byte* group, int superBlocks, Int16Activations x, float* results) =>
        Q4_0InterleavedKernels.DotGroup(group, superBlocks, x, results);

    protected override void DotGroup4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results) =>
        Q4_0InterleavedKernels.DotGroup4(group, superBlocks, x0, x1, x2, x3, results);

    public override void WidenGroupRow(byte* group, int r, int superBlocks, float* destination) =>
        Q4_0Interleaved.WidenRow(group, r, superBlocks, destination);

    protected override void InterleaveRow(byte* block, byte* destination, int r) => Q4_0Interleaved.InterleaveRow(block, destination, r);
}
