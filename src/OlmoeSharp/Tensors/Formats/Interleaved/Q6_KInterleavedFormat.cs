using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>Q6_K re-laid sixteen rows at a time: <see cref="Q6_KInterleaved"/>'s layout, <see cref="Q6_KInterleavedKernels"/>' products.</summary>
internal sealed unsafe class Q6_KInterleavedFormat : InterleavedFormat
{
    public static readonly Q6_KInterleavedFormat Instance = new();

    private Q6_KInterleavedFormat() { }

    public override string Name => "q6_k-x16";

    public override GgmlBlockFormat Source => Q6_KFormat.Instance;

    public override int GroupBlockBytes => Q6_KInterleaved.GroupBlockBytes;

    /// <summary>
    /// On AVX2 the quants' top bits cost the four-token kernel more than the GEMM's widened panels past 16 tokens
    /// (`GgmlGemmBenchmarks`, 1024 × 2048, two threads, Zen 4, µs, stored-type GEMM / interleaved row by row: 32 tokens
    /// 964 / 1,075, 64: 1,746 / 2,025, 128: 3,457 / 4,481, 256: 6,961 / 8,954; 16 tokens: 578–626 / 507); on
    /// AVX-512 the row-by-row product is ahead or level at every count (32: 1,043 / 770, 64: 1,668 / 1,653, 128:
    /// 3,179–3,727 / 3,306–3,466, 256: 6,854 / 6,549).
    /// </summary>
    protected override int VectorTokenLimit => Avx512BW.IsSupported ? MaxRowwiseTokens : 16;

    protected override void DotGroup(byte* group, int superBlocks, Int16Activations x, float* results) =>
        Q6_KInterleavedKernels.DotGroup(group, superBlocks, x, results);

    protected override void DotGroup4(byte* group, int superBlocks, Int16Activations x0, Int16Activations x1, Int16Activations x2, Int16Activations x3, float* results) =>
        Q6_KInterleavedKernels.DotGroup4(group, superBlocks, x0, x1, x2, x3, results);

    public override void WidenGroupRow(byte* group, int r, int superBlocks, float* destination) =>
        Q6_KInterleaved.WidenRow(group, r, superBlocks, destination);

    protected override void InterleaveRow(byte* block, byte* destination, int r) => Q6_KInterleaved.InterleaveRow(block, destination, r);
}
