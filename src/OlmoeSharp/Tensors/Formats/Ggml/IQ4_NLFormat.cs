namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// ggml IQ4_NL: blocks of 32, an fp16 scale d and 16 bytes of nibbles (as Q4_0) indexing a fixed non-linear table;
/// value = d·table[q].
/// </summary>
internal sealed unsafe class IQ4_NLFormat : GgmlBlockFormat
{
    public static readonly IQ4_NLFormat Instance = new();

    private IQ4_NLFormat() { }

    /// <summary>The 16 levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl): denser near zero, where weights cluster.</summary>
    public static ReadOnlySpan<sbyte> Levels => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    public override string Name => "iq4_nl";

    public override int BlockSize => 32;

    public override int BlockBytes => 18;

    public override void DequantizeBlock(byte* block, float* destination)
    {
        float d = Half(block);
        var levels = Levels;
        byte* qs = block + 2;
        for (int j = 0; j < 16; j++)
        {
            destination[j] = d * levels[qs[j] & 0x0F];
            destination[j + 16] = d * levels[qs[j] >> 4];
        }
    }
}
