namespace OlmoeSharp.Tensors.Formats;

/// <summary>Q4_K re-laid sixteen rows at a time: <see cref="Q4_KInterleaved"/>'s layout, <see cref="Q4_KInterleavedKernels"/>' products.</summary>
internal sealed unsafe class Q4_KInterleavedFormat : InterleavedFormat
{
    public static readonly Q4_KInterleavedFormat Instance = new();

    private Q4_KInterleavedFormat() { }

    public override string Name => "q4_k-x16";

    public override GgmlBlockFormat Source => Q4_KFormat.Instance;

    public override int GroupBlockBytes => Q4_KInterleaved.GroupBlockBytes;

    protected override void DotGroup(byte* group, int superBlocks, Int16Activations x, float* results) =>
        Q4_KInterleavedKernels.DotGroup(group, superBlocks, x, results);

    protected override void DotGroup4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results) =>
        Q4_KInterleavedKernels.DotGroup4(group, superBlocks, x0, x1, x2, x3, results);

    public override void WidenGroupRow(byte* group, int r, int superBlocks, float* destination) =>
        Q4_KInterleaved.WidenRow(group, r, superBlocks, destination);

    protected override void InterleaveRow(byte* block, byte* destination, int r) => Q4_KInterleaved.InterleaveRow(block, destination, r);
}
