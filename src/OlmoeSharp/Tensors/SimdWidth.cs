using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors;

/// <summary>
/// Which vector width the kernels use. .NET reports Vector512 as not accelerated on Intel parts it expects to
/// down-clock under 512-bit load, yet the instructions are there and our kernels measure faster with them, so
/// 512-bit paths are taken whenever AVX-512F is usable (DOTNET_EnableAVX512=0 still turns them off).
/// Static readonly, so the JIT folds every check away.
/// </summary>
internal static class SimdWidth
{
    public static readonly bool Use512 = Vector512.IsHardwareAccelerated || Avx512F.IsSupported;

    public static readonly bool Use256 = Vector256.IsHardwareAccelerated;

    public static readonly bool Use128 = Vector128.IsHardwareAccelerated;

    /// <summary>The kernels' CPU class, for logs: "avx512", "avx2", "advsimd" (ARM64), "128-bit" or "scalar".</summary>
    public static string ClassName =>
        Use512 ? "avx512"
        : Avx2.IsSupported ? "avx2"
        : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "advsimd"
        : Use128 ? "128-bit"
        : "scalar";
}
