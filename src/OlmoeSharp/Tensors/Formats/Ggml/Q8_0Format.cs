namespace OlmoeSharp.Tensors.Formats;

/// <summary>ggml Q8_0: blocks of 32 values, an fp16 scale d and 32 signed bytes q; value = q·d.</summary>
internal sealed unsafe class Q8_0Format : GgmlBlockFormat
{
    public static readonly Q8_0Format Instance = new();

    private Q8_0Format() { }

    public override string Name => "q8_0";

    public override int BlockSize => 32;

    public override int BlockBytes => 34;

    protected override delegate*<byte*, int, Int16Activations, float> Int16Dot =>
        GgmlAvx512Kernels.IsSupported ? &GgmlAvx512Kernels.DotQ8_0 : GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ8_0 : null;

    protected override delegate*<byte*, float*, int, void> VectorWiden =>
        GgmlAvx2Dequantizer.IsSupported ? &GgmlAvx2Dequantizer.WidenQ8_0 : null;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block);
        sbyte* q = (sbyte*)(block + 2);
        for (int j = 0; j < 32; j++) destination[j] = q[j] * d;
    }
}
