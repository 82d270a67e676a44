using System.Runtime.Intrinsics;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The 12-byte packing of eight 6-bit (scale, minimum) pairs that Q4_K and Q5_K share (ggml's get_scale_min_k4):
/// pairs 0–3 keep their six bits in the low bits of bytes 0–3 (scales) and 4–7 (minimums); pairs 4–7 keep their low
/// four bits in the nibbles of bytes 8–11 and their top two bits in the top bits of bytes 0–7.
/// </summary>
internal static unsafe class KQuantScales
{
    /// <summary>
    /// All eight pairs at once: bytes 0–7 of the result are the scales, bytes 8–15 the minimums — the same values as
    /// <see cref="Get"/>, by 32-bit word operations instead of sixteen byte lookups (for the kernels).
    /// </summary>
    public static Vector128<byte> Unpack(byte* scales)
    {
        const uint Six = 0x3F3F3F3F, Four = 0x0F0F0F0F, Two = 0x03030303;
        uint w0 = *(uint*)scales, w1 = *(uint*)(scales + 4), w2 = *(uint*)(scales + 8);
        uint sc03 = w0 & Six, m03 = w1 & Six;
        uint sc47 = (w2 & Four) | (((w0 >> 6) & Two) << 4);
        uint m47 = ((w2 >> 4) & Four) | (((w1 >> 6) & Two) << 4);
        return Vector128.Create(sc03, sc47, m03, m47).AsByte();
    }

    public static (int Scale, int Min) Get(byte* scales, int j)
    {
        if (j < 4) return (scales[j] & 63, scales[j + 4] & 63);
        return ((scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4),
                (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}
