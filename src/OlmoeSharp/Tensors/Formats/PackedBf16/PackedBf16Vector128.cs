using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The 128-bit kernels of <see cref="PackedBf16"/> (dispatched by <see cref="PackedBf16Kernels"/>), written with the
/// portable Vector128 API so they run on ARM64 (AdvSimd: tbl for the table lookup, zips for the widening) as well as
/// on x86 without AVX2. A 16-byte vector is one storage lane k of a group: widening its low bytes and high bytes
/// into words gives, per 32-bit element, an even word holding value 4k + d and an odd word holding value
/// 16 + 4k + d (and 32 + … / 48 + … from the upper eight bytes), so each float32 vector multiplies four
/// consecutive values of x.
/// </summary>
internal static unsafe class PackedBf16Vector128
{
    private const int Group = PackedBf16.GroupSize;
    private const int Lane = 16;

    /// <summary>Four rows' dot products with x, reading each packed row once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimised from the first call: the load-time probe (EncodingProbe) times it
    public static void Dot4(byte* w, long stride, uint* bases, int groups, float* x, float* result)
    {
        byte* w0 = w, w1 = w + stride, w2 = w + 2 * stride, w3 = w + 3 * stride;
        uint* b0 = bases, b1 = bases + groups, b2 = bases + 2 * groups, b3 = bases + 3 * groups;
        long ahead = 4 * stride;
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int g = 0; g < groups; g += 2, x += 2 * Group)
        {
            long block = (long)(g >> 1) * PackedBf16.PairBytes;
            PackedBf16Kernels.PrefetchBlock(w0 + ahead + block); PackedBf16Kernels.PrefetchBlock(w1 + ahead + block);
            PackedBf16Kernels.PrefetchBlock(w2 + ahead + block); PackedBf16Kernels.PrefetchBlock(w3 + ahead + block);
            a0 = AccumulatePair(w0 + block, b0 + g, x, a0);
            a1 = AccumulatePair(w1 + block, b1 + g, x, a1);
            a2 = AccumulatePair(w2 + block, b2 + g, x, a2);
            a3 = AccumulatePair(w3 + block, b3 + g, x, a3);
        }
        result[0] = Vector128.Sum(a0);
        result[1] = Vector128.Sum(a1);
        result[2] = Vector128.Sum(a2);
        result[3] = Vector128.Sum(a3);
    }

    /// <summary>acc + one row's pair of groups (128 values) · x, one storage lane of both groups at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> AccumulatePair(byte* block, uint* bases, float* x, Vector128<float> acc)
    {
        for (int lane = 0; lane < Group / Lane; lane++)
        {
            var codes = Vector128.Load(block + 2 * Group + lane * Lane);
            acc = AccumulateLane(Vector128.Load(block + lane * Lane), High(codes, 0, bases[0]), x + 4 * lane, acc);
            acc = AccumulateLane(Vector128.Load(block + Group + lane * Lane), High(codes, 1, bases[1]), x + Group + 4 * lane, acc);
        }
        return acc;
    }

    /// <summary>
    /// acc + one storage lane's 16 values · x: widening the low and high bytes into words gives even words at
    /// x offsets 0 (first eight bytes) and 32 (last eight), odd words at 16 and 48, from the lane's first value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> AccumulateLane(Vector128<byte> lowBytes, Vector128<byte> highBytes, float* x, Vector128<float> acc)
    {
        var highWords = Vector128.Create(0xFFFF0000u);
        var words = (Vector128.WidenLower(lowBytes) | (Vector128.WidenLower(highBytes) << 8)).AsUInt32();
        acc = Vector128.FusedMultiplyAdd((words << 16).AsSingle(), Vector128.Load(x), acc);
        acc = Vector128.FusedMultiplyAdd((words & highWords).AsSingle(), Vector128.Load(x + 16), acc);
        words = (Vector128.WidenUpper(lowBytes) | (Vector128.WidenUpper(highBytes) << 8)).AsUInt32();
        acc = Vector128.FusedMultiplyAdd((words << 16).AsSingle(), Vector128.Load(x + 32), acc);
        return Vector128.FusedMultiplyAdd((words & highWords).AsSingle(), Vector128.Load(x + 48), acc);
    }

    /// <summary>
    /// High bytes of one storage lane: the codes are the low nibbles of the code bytes for the pair's first group
    /// (<paramref name="half"/> 0), the high nibbles for the second; a table lookup, then the base subtracted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> High(Vector128<byte> codeBytes, int half, uint baseWord)
    {
        var codes = (half == 0 ? codeBytes : Vector128.ShiftRightLogical(codeBytes, 4)) & Vector128.Create((byte)0x0F);
        return (Vector128.ShuffleNative(PackedBf16Kernels.CodeTable(), codes).AsUInt32() - Vector128.Create(baseWord)).AsByte();
    }

    /// <summary>One packed row to bf16 in natural order (corrections not applied), two storage lanes at a time so each narrowing store fills eight values.</summary>
    public static void DecodeRow(byte* row, uint* bases, int cols, ushort* destination)
    {
        var lowWords = Vector128.Create(0xFFFFu);
        for (int g = 0; g < cols / Group; g++)
        {
            byte* block = row + (g >> 1) * PackedBf16.PairBytes;
            byte* low = block + (g & 1) * Group;
            ushort* target = destination + g * Group;
            for (int lane = 0; lane < Group / Lane; lane += 2)
            {
                var l0 = Vector128.Load(low + lane * Lane);
                var l1 = Vector128.Load(low + (lane + 1) * Lane);
                var h0 = High(Vector128.Load(block + 2 * Group + lane * Lane), g & 1, bases[g]);
                var h1 = High(Vector128.Load(block + 2 * Group + (lane + 1) * Lane), g & 1, bases[g]);
                var a = (Vector128.WidenLower(l0) | (Vector128.WidenLower(h0) << 8)).AsUInt32();
                var b = (Vector128.WidenUpper(l0) | (Vector128.WidenUpper(h0) << 8)).AsUInt32();
                var c = (Vector128.WidenLower(l1) | (Vector128.WidenLower(h1) << 8)).AsUInt32();
                var d = (Vector128.WidenUpper(l1) | (Vector128.WidenUpper(h1) << 8)).AsUInt32();
                Vector128.Narrow(a & lowWords, c & lowWords).Store(target + 4 * lane);
                Vector128.Narrow(a >> 16, c >> 16).Store(target + 16 + 4 * lane);
                Vector128.Narrow(b & lowWords, d & lowWords).Store(target + 32 + 4 * lane);
                Vector128.Narrow(b >> 16, d >> 16).Store(target + 48 + 4 * lane);
            }
        }
    }
}
