using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// A lossless re-encoding of bf16 weight rows in 12.5 bits per weight instead of 16, for decoding that is bound by
/// memory bandwidth: fewer bytes per token is more tokens per second.
/// <para>
/// A bf16 value is a high byte (sign, top seven exponent bits) and a low byte (last exponent bit, seven mantissa
/// bits). Trained weights in one 64-value group span a narrow exponent range, so the high byte is nearly
/// redundant: the low byte is kept as is, and the high byte becomes a 4-bit code, sign plus a distance 0–7 below the
/// group's largest seven-bit exponent (its "base"). A value further below the base than that (≈ 2^-15 of the
/// group's largest value, or an exact zero among normal values) is stored with distance 7 and its true value is
/// kept in the matrix's <see cref="WeightCorrections"/>.
/// </para>
/// <para>
/// Layout of a row of <c>cols</c> values (<c>cols</c> a multiple of 128): one 192-byte block per pair of groups,
/// the first group's 64 low bytes, the second's, then 64 code bytes, byte j holding position j's code of the first
/// group in its low nibble and of the second in its high nibble. One sequential stream per row keeps the hardware
/// prefetchers on it; separate planes of low bytes and codes decoded a fifth slower. Inside a group, values are stored in the order the
/// AVX-512 decoder produces float32 lanes in (<see cref="WeightAt"/>). The bases of all rows form a separate plane
/// of one 32-bit word per group holding (127 − base) in each byte, so the decoder subtracts it from four bytes at a
/// time straight from memory: <c>high = table[code] − (127 − base)</c> with
/// <c>table[code] = sign·128 + 127 − distance</c>, which never borrows across bytes because distance ≤ base.
/// </para>
/// </summary>
internal static unsafe class PackedBf16
{
    /// <summary>Values per group (one base, one 64-byte vector of low bytes).</summary>
    public const int GroupSize = 64;

    /// <summary>Row lengths must be a multiple of this: code bytes serve two groups.</summary>
    public const int RowMultiple = 2 * GroupSize;

    /// <summary>Largest distance below the base a code can express.</summary>
    private const int MaxDistance = 7;

    /// <summary>True when rows of this length can be packed.</summary>
    public static bool CanPack(int cols) => cols > 0 && cols % RowMultiple == 0;

    /// <summary>Bytes of one block: two groups' low bytes and their codes.</summary>
    public const int PairBytes = 3 * GroupSize;

    /// <summary>Bytes of one packed row (low bytes and codes; the base plane is separate).</summary>
    public static long RowBytes(int cols) => cols / RowMultiple * PairBytes;

    /// <summary>Groups per row: 32-bit base words per row in the base plane.</summary>
    public static int GroupsPerRow(int cols) => cols / GroupSize;

    /// <summary>Bytes of the base plane per row.</summary>
    public static int BaseBytesPerRow(int cols) => GroupsPerRow(cols) * sizeof(uint);

    /// <summary>
    /// Which value of a group sits at storage position <paramref name="position"/>. The decoder interleaves low and
    /// high bytes with 8-bit unpacks (positions 16k…16k+7 of each 128-bit lane k into one vector, 16k+8…16k+15 into
    /// another), then takes the even 16-bit words of each vector by a shift and the odd ones by a mask. Storing value
    /// 32h + 16o + 4k + d at lane k, word 8h + 2d + o makes those four float32 vectors hold values 0–15, 16–31,
    /// 32–47 and 48–63 in order, so they multiply plain slices of x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WeightAt(int position)
    {
        int lane = position >> 4, word = position & 15;
        int half = word >> 3, dword = (word & 7) >> 1, odd = word & 1;
        return 32 * half + 16 * odd + 4 * lane + dword;
    }

    /// <summary>The table the codes index: sign·128 + 127 − distance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte CodeTable(int code) => (byte)(((code & 8) << 4) + 127 - (code & MaxDistance));

    /// <summary>The high byte a code decodes to, given its group's base word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte HighByte(uint baseWord, int code) => (byte)(CodeTable(code) - (byte)baseWord);

    /// <summary>
    /// Packs rows of bf16 values. <paramref name="source"/> holds <paramref name="rows"/> rows of
    /// <paramref name="cols"/> values; <paramref name="payload"/> receives rows × <see cref="RowBytes"/> bytes and
    /// <paramref name="bases"/> rows × <see cref="BaseBytesPerRow"/>. Values the codes cannot express are added to
    /// <paramref name="corrections"/>.
    /// </summary>
    public static void Pack(ushort* source, int rows, int cols, byte* payload, byte* bases, WeightCorrections.Builder corrections)
    {
        if (!CanPack(cols)) throw new ArgumentOutOfRangeException(nameof(cols), cols, $"must be a positive multiple of {RowMultiple}.");
        int groups = GroupsPerRow(cols);
        long rowBytes = RowBytes(cols);
        bool avx512 = Avx512BW.IsSupported && SimdWidth.Use512, avx2 = !avx512 && Avx2.IsSupported && SimdWidth.Use256;
        var (order0, order1) = avx512 ? StorageOrder() : default;
        for (int r = 0; r < rows; r++)
        {
            ushort* row = source + (long)r * cols;
            byte* packedRow = payload + r * rowBytes;
            uint* rowBases = (uint*)bases + (long)r * groups;
            for (int g = 0; g < groups; g++)
            {
                ushort* values = row + g * GroupSize;
                byte* block = packedRow + (g >> 1) * PairBytes;
                int shift = 4 * (g & 1);
                ulong escapes;
                int groupBase = avx512 ? EncodeGroupAvx512(values, block + (g & 1) * GroupSize, block + 2 * GroupSize, shift, order0, order1, out escapes)
                    : avx2 ? EncodeGroupAvx2(values, block + (g & 1) * GroupSize, block + 2 * GroupSize, shift, out escapes)
                    : EncodeGroup(values, block + (g & 1) * GroupSize, block + 2 * GroupSize, shift, out escapes);
                uint baseWord = (uint)(127 - groupBase) * 0x01010101u;
                rowBases[g] = baseWord;
                for (; escapes != 0; escapes &= escapes - 1)
                {
                    // Stored with the largest distance; the true value goes to the corrections.
                    int col = WeightAt(BitOperations.TrailingZeroCount(escapes));
                    ushort value = values[col];
                    ushort decoded = (ushort)(HighByte(baseWord, (value >> 15) << 3 | MaxDistance) << 8 | (value & 0xFF));
                    corrections.Add(r, g * GroupSize + col, value, decoded);
                }
            }
        }
    }

    /// <summary>
    /// Stores a group's low bytes and its codes (into the nibble at <paramref name="shift"/> of the pair's code
    /// bytes); returns its base, and in <paramref name="escapes"/> the positions whose distance exceeds the codes'.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int EncodeGroup(ushort* values, byte* low, byte* codes, int shift, out ulong escapes)
    {
        int groupBase = 0;
        for (int i = 0; i < GroupSize; i++) groupBase = Math.Max(groupBase, (values[i] >> 8) & 0x7F);
        escapes = 0;
        for (int p = 0; p < GroupSize; p++)
        {
            ushort value = values[WeightAt(p)];
            low[p] = (byte)value;
            int distance = groupBase - ((value >> 8) & 0x7F);
            if (distance > MaxDistance) escapes |= 1UL << p;
            int code = (value >> 15) << 3 | Math.Min(distance, MaxDistance);
            codes[p] = (byte)(shift == 0 ? code : codes[p] | code << shift);
        }
        return groupBase;
    }

    /// <summary><see cref="EncodeGroup"/> on whole vectors: word permutes put the values in storage order, narrowing moves make bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs a few million times during one load, mostly before tiering would kick in
    private static int EncodeGroupAvx512(ushort* values, byte* low, byte* codes, int shift, Vector512<ushort> order0, Vector512<ushort> order1, out ulong escapes)
    {
        var natural0 = Vector512.Load(values);
        var natural1 = Vector512.Load(values + 32);
        var stored0 = Avx512BW.PermuteVar32x16x2(natural0, order0, natural1);
        var stored1 = Avx512BW.PermuteVar32x16x2(natural0, order1, natural1);
        var exponentMask = Vector512.Create((ushort)0x7F);
        var exponent0 = (stored0 >> 8) & exponentMask;
        var exponent1 = (stored1 >> 8) & exponentMask;
        var max = Vector512.Max(exponent0, exponent1);
        var max256 = Vector256.Max(max.GetLower(), max.GetUpper());
        var max128 = Vector128.Max(max256.GetLower(), max256.GetUpper());
        int groupBase = 0;
        for (int i = 0; i < Vector128<ushort>.Count; i++) groupBase = Math.Max(groupBase, max128.GetElement(i));

        var broadcastBase = Vector512.Create((ushort)groupBase);
        var maxDistance = Vector512.Create((ushort)MaxDistance);
        var distance0 = broadcastBase - exponent0;
        var distance1 = broadcastBase - exponent1;
        escapes = Vector512.GreaterThan(distance0, maxDistance).ExtractMostSignificantBits()
            | Vector512.GreaterThan(distance1, maxDistance).ExtractMostSignificantBits() << 32;
        var code0 = Vector512.Min(distance0, maxDistance) | ((stored0 >> 15) << 3);
        var code1 = Vector512.Min(distance1, maxDistance) | ((stored1 >> 15) << 3);

        Avx512BW.ConvertToVector256Byte(stored0).Store(low);
        Avx512BW.ConvertToVector256Byte(stored1).Store(low + 32);
        var codeBytes = Vector512.Create(Avx512BW.ConvertToVector256Byte(code0), Avx512BW.ConvertToVector256Byte(code1));
        (shift == 0 ? codeBytes : Vector512.Load(codes) | (codeBytes << 4)).Store(codes);
        return groupBase;
    }

    /// <summary>
    /// <see cref="EncodeGroup"/> with AVX2: bytes are computed in natural order and then moved to storage order by
    /// <see cref="ToStorageOrder"/>; the escape flags go through the same move, so they come out in storage order too.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // runs a few million times during one load, mostly before tiering would kick in
    private static int EncodeGroupAvx2(ushort* values, byte* low, byte* codes, int shift, out ulong escapes)
    {
        var v0 = Vector256.Load(values);
        var v1 = Vector256.Load(values + 16);
        var v2 = Vector256.Load(values + 32);
        var v3 = Vector256.Load(values + 48);
        var exponentMask = Vector256.Create((ushort)0x7F);
        var e0 = (v0 >> 8) & exponentMask;
        var e1 = (v1 >> 8) & exponentMask;
        var e2 = (v2 >> 8) & exponentMask;
        var e3 = (v3 >> 8) & exponentMask;
        var max = Vector256.Max(Vector256.Max(e0, e1), Vector256.Max(e2, e3));
        var max128 = Vector128.Max(max.GetLower(), max.GetUpper());
        int groupBase = 0;
        for (int i = 0; i < Vector128<ushort>.Count; i++) groupBase = Math.Max(groupBase, max128.GetElement(i));

        var broadcastBase = Vector256.Create((ushort)groupBase);
        var maxDistance = Vector256.Create((ushort)MaxDistance);
        var (d0, d1, d2, d3) = (broadcastBase - e0, broadcastBase - e1, broadcastBase - e2, broadcastBase - e3);
        var byteMask = Vector256.Create((ushort)0xFF);
        var (lowFirst, lowSecond) = ToStorageOrder(Vector256.Narrow(v0 & byteMask, v1 & byteMask), Vector256.Narrow(v2 & byteMask, v3 & byteMask));
        var (codeFirst, codeSecond) = ToStorageOrder(
            Vector256.Narrow(Code(v0, d0, maxDistance), Code(v1, d1, maxDistance)),
            Vector256.Narrow(Code(v2, d2, maxDistance), Code(v3, d3, maxDistance)));
        var (escapeFirst, escapeSecond) = ToStorageOrder(
            Vector256.Narrow(Vector256.GreaterThan(d0, maxDistance), Vector256.GreaterThan(d1, maxDistance)).AsByte(),
            Vector256.Narrow(Vector256.GreaterThan(d2, maxDistance), Vector256.GreaterThan(d3, maxDistance)).AsByte());
        escapes = escapeFirst.ExtractMostSignificantBits() | (ulong)escapeSecond.ExtractMostSignificantBits() << 32;

        lowFirst.Store(low);
        lowSecond.Store(low + 32);
        if (shift != 0)
        {
            codeFirst = Vector256.Load(codes) | (codeFirst << 4);
            codeSecond = Vector256.Load(codes + 32) | (codeSecond << 4);
        }
        codeFirst.Store(codes);
        codeSecond.Store(codes + 32);
        return groupBase;
    }

    /// <summary>A value's code: sign·8 + min(distance, 7), one per 16-bit element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> Code(Vector256<ushort> value, Vector256<ushort> distance, Vector256<ushort> maxDistance) =>
        Vector256.Min(distance, maxDistance) | ((value >> 15) << 3);

    /// <summary>
    /// A group's 64 bytes from natural order (<paramref name="first"/> values 0–31, <paramref name="second"/> 32–63)
    /// to storage order (<see cref="WeightAt"/>). Value v = 32h + 16o + 4k + d goes to position 16k + 8h + 2d + o: a
    /// natural 16-byte block (fixed h, o) holds 4k + d, so an 8-bit unpack of the o = 0 and o = 1 blocks of each h
    /// gives 8k + 2d + o per pair of storage lanes k, and a 64-bit interleave of the two h then completes each lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> First, Vector256<byte> Second) ToStorageOrder(Vector256<byte> first, Vector256<byte> second)
    {
        var even = Avx2.Permute2x128(first, second, 0x20); // blocks (h 0, o 0), (h 1, o 0)
        var odd = Avx2.Permute2x128(first, second, 0x31);  // blocks (h 0, o 1), (h 1, o 1)
        // Per 128-bit lane h: bytes 8k + 2d + o for k 0–1 (low unpack) and k 2–3 (high unpack); quadwords then
        // ordered (h 0, k), (h 1, k) for each storage lane k.
        var lanes01 = Avx2.Permute4x64(Avx2.UnpackLow(even, odd).AsUInt64(), 0b11_01_10_00).AsByte();
        var lanes23 = Avx2.Permute4x64(Avx2.UnpackHigh(even, odd).AsUInt64(), 0b11_01_10_00).AsByte();
        return (lanes01, lanes23);
    }

    /// <summary>Word indices that gather a group's natural-order values into storage order (<see cref="WeightAt"/>).</summary>
    private static (Vector512<ushort> First, Vector512<ushort> Second) StorageOrder()
    {
        Span<ushort> order = stackalloc ushort[GroupSize];
        for (int p = 0; p < GroupSize; p++) order[p] = (ushort)WeightAt(p);
        return (Vector512.Create<ushort>(order[..32]), Vector512.Create<ushort>(order[32..]));
    }

    /// <summary>
    /// Decodes one packed row into bf16 values in natural order, corrections included: the reference for the
    /// vector decoders, and the path on hardware without AVX-512BW.
    /// </summary>
    public static void DecodeRow(in WeightMatrix w, int row, ushort* destination)
    {
        var format = PackedBf16Format.Of(w);
        int cols = w.Cols, groups = GroupsPerRow(cols);
        byte* packedRow = w.Row(row);
        uint* bases = (uint*)format.Bases + (long)row * groups;
        for (int g = 0; g < groups; g++)
        {
            byte* low = packedRow + (g >> 1) * PairBytes + (g & 1) * GroupSize;
            byte* codes = packedRow + (g >> 1) * PairBytes + 2 * GroupSize;
            for (int p = 0; p < GroupSize; p++)
            {
                int code = (codes[p] >> (4 * (g & 1))) & 15;
                destination[g * GroupSize + WeightAt(p)] = (ushort)(HighByte(bases[g], code) << 8 | low[p]);
            }
        }
        format.Corrections.Patch(row, destination);
    }
}
