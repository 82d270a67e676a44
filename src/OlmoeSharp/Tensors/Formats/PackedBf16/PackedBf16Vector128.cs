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
        var highWords = Vector128.Create(0xFFFF0000u);
        for (int lane = 0; lane < Group / Lane; lane++)
        {
            var codes = Vector128.Load(block + 2 * Group + lane * Lane);
            var (low, high) = Words(Vector128.Load(block + lane * Lane), codes, 0, bases[0]);
            acc = Accumulate(low, high, highWords, x + 4 * lane, acc);
            (low, high) = Words(Vector128.Load(block + Group + lane * Lane), codes, 1, bases[1]);
            acc = Accumulate(low, high, highWords, x + Group + 4 * lane, acc);
        }
        return acc;
    }

    /// <summary>acc + the four float32 vectors of one storage lane: x at offsets 0, 16, 32 and 48 from the lane's first value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Accumulate(Vector128<uint> low, Vector128<uint> high, Vector128<uint> highWords, float* x, Vector128<float> acc)
    {
        acc = Vector128.FusedMultiplyAdd((low << 16).AsSingle(), Vector128.Load(x), acc);
        acc = Vector128.FusedMultiplyAdd((low & highWords).AsSingle(), Vector128.Load(x + 16), acc);
        acc = Vector128.FusedMultiplyAdd((high << 16).AsSingle(), Vector128.Load(x + 32), acc);
        return Vector128.FusedMultiplyAdd((high & highWords).AsSingle(), Vector128.Load(x + 48), acc);
    }

    /// <summary>
    /// One storage lane of a group as bf16 words: the first eight positions (<c>Low</c>) and the last eight
    /// (<c>High</c>), viewed as 32-bit pairs. The codes are the low nibbles for the pair's first group
    /// (<paramref name="half"/> 0), the high nibbles for the second.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<uint> Low, Vector128<uint> High) Words(Vector128<byte> lowBytes, Vector128<byte> codes, int half, uint baseWord)
    {
        if (half != 0) codes = Vector128.ShiftRightLogical(codes, 4);
        var highBytes = (Vector128.ShuffleNative(PackedBf16Kernels.CodeTable(), codes & Vector128.Create((byte)0x0F)).AsUInt32() - Vector128.Create(baseWord)).AsByte();
        var low = Vector128.WidenLower(lowBytes) | (Vector128.WidenLower(highBytes) << 8);
        var high = Vector128.WidenUpper(lowBytes) | (Vector128.WidenUpper(highBytes) << 8);
        return (low.AsUInt32(), high.AsUInt32());
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
                var (a, b) = Words(Vector128.Load(low + lane * Lane), Vector128.Load(block + 2 * Group + lane * Lane), g & 1, bases[g]);
                var (c, d) = Words(Vector128.Load(low + (lane + 1) * Lane), Vector128.Load(block + 2 * Group + (lane + 1) * Lane), g & 1, bases[g]);
                Vector128.Narrow(a & lowWords, c & lowWords).Store(target + 4 * lane);
                Vector128.Narrow(a >> 16, c >> 16).Store(target + 16 + 4 * lane);
                Vector128.Narrow(b & lowWords, d & lowWords).Store(target + 32 + 4 * lane);
                Vector128.Narrow(b >> 16, d >> 16).Store(target + 48 + 4 * lane);
            }
        }
    }
}
