namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml Q4_0: blocks of 32 values, an fp16 scale d and 16 bytes of nibbles — low nibbles are values 0–15, high
/// nibbles 16–31; value = (q − 8)·d.
/// </summary>
internal sealed unsafe class Q4_0Format : GgmlBlockFormat
{
    public static readonly Q4_0Format Instance = new();

    private Q4_0Format() { }

    public override string Name => "q4_0";

    public override int BlockSize => 32;

    public override int BlockBytes => 18;

    protected override delegate*<byte*, int, Int16Activations, float> Int16Dot =>
        GgmlAvx2Kernels.IsSupported ? &GgmlAvx2Kernels.DotQ4_0 : null;

    protected override delegate*<byte*, float*, int, void> VectorWiden =>
        GgmlAvx2Dequantizer.IsSupported ? &GgmlAvx2Dequantizer.WidenQ4_0 : null;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block);
        byte* qs = block + 2;
        for (int j = 0; j < 16; j++)
        {
            destination[j] = ((qs[j] & 0x0F) - 8) * d;
            destination[j + 16] = ((qs[j] >> 4) - 8) * d;
        }
    }
}
