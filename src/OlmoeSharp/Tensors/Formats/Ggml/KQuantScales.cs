namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The 12-byte packing of eight 6-bit (scale, minimum) pairs that Q4_K and Q5_K share (ggml's get_scale_min_k4):
/// pairs 0–3 keep their six bits in the low bits of bytes 0–3 (scales) and 4–7 (minimums); pairs 4–7 keep their low
/// four bits in the nibbles of bytes 8–11 and their top two bits in the top bits of bytes 0–7.
/// </summary>
internal static unsafe class KQuantScales
{
    public static (int Scale, int Min) Get(byte* scales, int j)
    {
        if (j < 4) return (scales[j] & 63, scales[j + 4] & 63);
        return ((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
                (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}
