using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>The bit unpacking the 128-bit ggml kernels and dequantizers share: nibbles, fifth bits, fp16 scales.</summary>
internal static unsafe class GgmlBits
{
    /// <summary>The low nibble of each byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Low(Vector128<byte> v) => Sse2.And(v, Vector128.Create((byte)0x0F));

    /// <summary>The high nibble of each byte, moved down.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> High(Vector128<byte> v) => Sse2.And(Sse2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), Vector128.Create((byte)0x0F));

    /// <summary>Bit 0 of each byte of <paramref name="high"/> (masked by <paramref name="bit"/>) moved to bit 4: a Q5 value's fifth bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Fifth(Vector128<byte> high, Vector128<byte> bit) =>
        Sse2.ShiftLeftLogical(Sse2.And(high, bit).AsUInt16(), 4).AsByte();

    /// <summary>An IEEE half stored little-endian at <paramref name="p"/>, widened exactly (ggml's GGML_FP16_TO_FP32), NaNs included.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ExactHalf(byte* p) => (float)BitConverter.UInt16BitsToHalf(*(ushort*)p);
}
