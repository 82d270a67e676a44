using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace OlmoeSharp.Tensors;

/// <summary>
/// Matrix × matrix for a block of tokens: Y[t, r] = W[r]·X[t]. The tokens are packed once per call, interleaved in
/// chunks of one vector per token ("panels"), so the micro-kernel reads them as one sequential stream (unpacked,
/// four token streams sat 8 KiB apart in the same L1 sets and evicted each other's prefetched lines: 3× slower).
/// Each weight byte is read from memory once per call however many tokens there are. On AVX-512, bf16 rows skip the
/// widening pass: the kernel reads them as stored (<see cref="KernelBf16"/>); with AVX2 alone a 4 × 3 tile does the
/// same in 256-bit registers (<see cref="KernelBf16Avx2"/>). The other formats (f16, f32, the ggml block types) widen
/// each group of four rows to float32 once, into padded rows the 4 × 4 tile (4 × 3 on AVX2, <see cref="Kernel256x3"/>)
/// reads a slice of columns at a time.
/// </summary>
internal static unsafe class MatMul
{
    private const int Block = 4; // rows per tile and tokens per token panel (3 for the AVX2 tiles)
    private const int Avx2Tokens = 3;

    /// <summary>
    /// Most tokens in a product whose next row block is prefetched into L2 rather than L1. With a few tokens (a batch
    /// of decoding sequences: 1–4 per expert) a row block computes in a fraction of the time its bytes take to arrive,
    /// and L1's few fill buffers cap the lines in flight; L2 takes several times more (1024 × 2048 bf16, 64 copies
    /// streamed, one thread: AVX-512 2 / 4 / 8 tokens 300–308 / 316–327 / 496–520 µs → 245–288 / 254–292 / 438–479;
    /// AVX2 2 / 3 tokens 352–372 → 247–263 / 361–406 → 268–297; `bench --concurrency 16`, two alternating rounds:
    /// AVX-512 22.05 / 24.19 → 24.34 / 26.96 tok/s, AVX2 18.54 / 22.50 → 23.84 / 26.40). With more tokens the block's
    /// long compute hides L1's latency, and L1 measured slightly faster (128 tokens: 5,173–5,706 vs 5,371–5,761 µs).
    /// </summary>
    private const int L2PrefetchTokens = 8;

    /// <summary>Most tokens in one product: 128 tokens of 2048 columns make a 1 MiB token panel, which L2 holds.</summary>
    private const int TokenGroup = 128;

    /// <summary>
    /// Columns of a slice of the widened rows (<see cref="Kernel512x8{T}"/>, <see cref="Kernel256x3{T}"/>): 1024 with
    /// 512-bit vectors, where the tile's eight rows take 32 KiB of Sapphire Rapids' 48 KiB L1 and the token panels stream
    /// past them; 512 with 256-bit ones, 14 KiB of four rows and three tokens, for Zen 3's 32 KiB L1. (On 2048
    /// columns, AVX-512, a Q4_K product of 16 / 128 tokens: 43 / 70 GFLOP/s per core in whole rows, 62 / 89 in
    /// slices of 512, 65 / 94 in slices of 1024.)
    /// </summary>
    private static int SliceColumns(int lanes) => lanes == 16 ? 1024 : 512;

    /// <summary>Floats per vector in the panel layout: the widest width the kernels use.</summary>
    private static int Lanes => SimdWidth.Use512 ? 16 : SimdWidth.Use256 ? 8 : 4;

    /// <summary>
    /// Y[t, r] = W[r]·X[t] for rows r in [rowStart, rowEnd) and tokens t in [0, tokens).
    /// X is [tokens, W.Cols] row-major; Y is [tokens, ldy] row-major, indexed by row number.
    /// </summary>
    public static void MultiplyRows(in WeightMatrix w, ReadOnlySpan<float> x, int tokens, Span<float> y, int ldy, int rowStart, int rowEnd)
    {
        int cols = w.Cols;
        if (tokens < 0 || x.Length < (long)tokens * cols) throw new ArgumentException("x is shorter than tokens × cols.", nameof(x));
        if (rowStart < 0 || rowEnd > w.Rows || rowStart > rowEnd) throw new ArgumentOutOfRangeException(nameof(rowStart));
        if (tokens > 0 && (ldy < rowEnd || y.Length < (long)(tokens - 1) * ldy + rowEnd)) throw new ArgumentException("y is too short.", nameof(y));
        if (tokens == 0 || rowStart == rowEnd) return;
        if (tokens == 1)
        {
            // One token (decode): stream the stored rows straight through the mat-vec kernel, no packing.
            MatVec.MultiplyRows(w, x[..cols], y[..rowEnd], rowStart, rowEnd);
            return;
        }
        if (tokens <= w.Format.RowwiseTokenLimit)
        {
            // A few tokens (experts chosen by a few of a batch's sequences): the format's row-by-row product beats
            // widening every weight into a panel first.
            fixed (float* px = x)
            fixed (float* py = y)
                w.Format.MultiplyRowsPerToken(w, px, tokens, py, ldy, rowStart, rowEnd);
            return;
        }

        if (tokens > TokenGroup)
        {
            // More tokens than a token panel that stays in L2 holds: the tokens go in near-equal groups, each a product
            // of its own, which re-reads the weights once per group instead of streaming a panel from L3 for every
            // row block (2048 × 2048, one thread, AVX-512 / AVX2: 256 tokens in one panel 68–72 / 50–56 GFLOP/s, in two
            // groups 93–104 / 66–70, as fast as 128 tokens).
            int groups = (tokens + TokenGroup - 1) / TokenGroup;
            for (int g = 0; g < groups; g++)
            {
                int first = (int)((long)tokens * g / groups), count = (int)((long)tokens * (g + 1) / groups) - first;
                MultiplyRows(w, x.Slice(first * cols, count * cols), count, y.Slice(first * ldy), ldy, rowStart, rowEnd);
            }
            return;
        }

        int lanes = Lanes;
        int chunks = (cols + lanes - 1) / lanes;
        var format = w.Format;
        bool bf16 = format.HasBf16Rows;
        // Rows the format hands over as bf16, whose length is a whole number of lines (two vectors' worth of
        // values), are widened in registers (KernelBf16, KernelBf16Avx2); every other case widens each block of
        // rows to float32 first (WidenRows).
        bool direct = bf16 && cols % (2 * lanes) == 0
            && (lanes == 16 ? Avx512BW.IsSupported : lanes == 8 && Avx2.IsSupported && Fma.IsSupported);
        // On AVX2 a 4-row × 3-token tile: its 12 accumulators, 3 token vectors and a row vector fit the 16 registers,
        // where 4 × 4 spills (measured: half the speed). For bf16 rows read in place and for float32 panels alike.
        bool avx2Tile = lanes == 8 && Avx2.IsSupported && Fma.IsSupported;
        // On AVX-512 the widened float32 rows go through an 8-row × 3-token tile (Kernel512x8): its 32 registers
        // hold 24 accumulators, and each token vector, streamed from L2, feeds eight FMAs instead of four.
        // (bf16 rows, handed over four at a time, keep the 4 × 4 tile where they cannot be read in place.)
        bool wideTile = !bf16 && lanes == 16 && Avx512F.IsSupported;
        // The 3-token tiles leave their sums token-major (see KernelBf16Avx2); the 4 × 4 ones row-major.
        int tileTokens = avx2Tile || wideTile ? Avx2Tokens : Block;
        int rowBlock = wideTile ? 2 * Block : Block;
        int rowStep = avx2Tile || wideTile ? 1 : Block, tokenStep = avx2Tile ? Block : wideTile ? rowBlock : 1;
        int panel = chunks * tileTokens * lanes;
        int tokenBlocks = (tokens + tileTokens - 1) / tileTokens;
        var tokenPanels = ThreadScratch.TokenPanels(tokenBlocks * panel);
        // A block's widened rows one after the other, each padded to whole chunks plus one vector so that the same
        // column of its rows falls in different L1 sets.
        int rowStride = (chunks + 1) * lanes;
        var rowPanel = direct ? [] : ThreadScratch.RowPanel(rowBlock * rowStride);
        var decoded = bf16 ? ThreadScratch.GemmRows(Block * cols) : [];
        Span<float> sums = stackalloc float[2 * Block * Block];
        // bf16 rows read in place go whole: in slices of 512 or 1024 columns that tile measured 10–20% slower.
        int sliceChunks = direct ? chunks : SliceColumns(lanes) / lanes;
        fixed (float* pTokens = tokenPanels)
        fixed (float* pRows = rowPanel)
        fixed (ushort* pDecoded = decoded)
        fixed (float* px = x)
        {
            for (int t = 0; t < tokenBlocks * tileTokens; t++)
            {
                float* source = t < tokens ? px + (long)t * cols : null;
                // Slice-major: a slice's token blocks lie one after the other, read in that order below.
                for (int c0 = 0; c0 < chunks; c0 += sliceChunks)
                {
                    int slice = Math.Min(sliceChunks, chunks - c0);
                    float* panelStart = pTokens + (long)c0 * tokenBlocks * tileTokens * lanes + (long)(t / tileTokens) * slice * tileTokens * lanes;
                    float* sliceSource = source == null ? null : source + c0 * lanes;
                    int sliceCols = Math.Min(cols - c0 * lanes, slice * lanes);
                    if (direct) InterleaveForBf16Pairs(sliceSource, sliceCols, panelStart, t % tileTokens, tileTokens, lanes);
                    else Interleave(sliceSource, sliceCols, panelStart, t % tileTokens, tileTokens, slice, lanes);
                }
            }
            for (int r = rowStart; r < rowEnd; r += rowBlock)
            {
                int rows = Math.Min(rowBlock, rowEnd - r);
                // Stored bf16 rows are read in place; encoded ones are decoded to bf16 once per block.
                ushort* bf16Rows = bf16 ? format.Bf16Rows(w, r, rows, pDecoded) : null;
                // The next block's stored bytes (bf16 rows, or the encoded ones a format decodes from), fetched while
                // this block is computed: the hardware prefetcher stops at every 4 KiB page, and a decoder that
                // waited for memory would leave the tile idle.
                var next = r + rowBlock < rowEnd ? new Prefetch(w.Row(r + rowBlock), w.Row(Math.Min(r + 2 * rowBlock, rowEnd)), tokens <= L2PrefetchTokens) : default;
                if (!direct) WidenRows(w, bf16Rows, r, rows, pRows, rowStride, chunks * lanes);
                // The rows go through the tile a slice of columns at a time, so that a slice of the rows and of one
                // token panel share L1 while every token block is multiplied by it: whole rows of 2048 columns
                // (32 KiB of widened rows and as much per token block) overflowed it. The slices' partial sums are
                // added up in y.
                for (int c0 = 0; c0 < chunks; c0 += sliceChunks)
                {
                    int slice = Math.Min(sliceChunks, chunks - c0);
                    for (int b = 0; b < tokenBlocks; b++)
                    {
                        float* tokenPanel = pTokens + (long)c0 * tokenBlocks * tileTokens * lanes + (long)b * slice * tileTokens * lanes;
                        int count = Math.Min(tileTokens, tokens - b * tileTokens);
                        var prefetch = b == 0 ? next : default;
                        if (direct && avx2Tile) KernelBf16Avx2(count, bf16Rows + c0 * lanes, cols, rows, tokenPanel, slice / 2, sums, prefetch);
                        else if (direct) KernelBf16(count, bf16Rows + c0 * lanes, cols, rows, tokenPanel, slice / 2, sums, prefetch);
                        else if (avx2Tile) Kernel256x3(count, pRows + c0 * lanes, rowStride, tokenPanel, slice, sums);
                        else if (wideTile) Kernel512x8(count, pRows + c0 * lanes, rowStride, tokenPanel, slice, sums);
                        else Kernel(count, pRows + c0 * lanes, rowStride, tokenPanel, slice, sums);
                        StoreTile(y, ldy, sums, b * tileTokens, count, r, rows, rowStep, tokenStep, add: c0 > 0);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Bytes for a tile to prefetch while it computes — the next row block's stored bytes — as four streams, one per
    /// quarter (a row each, for bf16 or packed rows alike), a line of each per step so they keep pace with the tile's
    /// own four rows; into L2 for a product of a few tokens (<see cref="L2PrefetchTokens"/>), else into L1. Default: nothing.
    /// </summary>
    private readonly struct Prefetch(byte* start, byte* end, bool toL2)
    {
        public byte* Start { get; } = start;
        public long Quarter { get; } = (end - start) / 4;
        public bool ToL2 { get; } = toL2;

        /// <summary>Requests the line at <paramref name="next"/> and the same line of the other three quarters.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Lines(byte* next)
        {
            long quarter = Quarter;
            if (ToL2) { Sse.Prefetch1(next); Sse.Prefetch1(next + quarter); Sse.Prefetch1(next + 2 * quarter); Sse.Prefetch1(next + 3 * quarter); }
            else { Sse.Prefetch0(next); Sse.Prefetch0(next + quarter); Sse.Prefetch0(next + 2 * quarter); Sse.Prefetch0(next + 3 * quarter); }
        }
    }

    /// <summary>Y[token0 + t, r + i] = (or +=) the tile's sum for token t and row i, laid out rowStep · i + tokenStep · t.</summary>
    private static void StoreTile(Span<float> y, int ldy, Span<float> sums, int token0, int count, int r, int rows, int rowStep, int tokenStep, bool add)
    {
        for (int t = 0; t < count; t++)
        {
            var target = y.Slice((token0 + t) * ldy + r, rows);
            if (rowStep == 1)
            {
                // Token-major sums: a token's rows are as contiguous as in y.
                var source = sums.Slice(t * tokenStep, rows);
                if (add) TensorPrimitives.Add(target, source, target);
                else source.CopyTo(target);
                continue;
            }
            for (int i = 0; i < rows; i++)
            {
                float sum = sums[i * rowStep + t * tokenStep];
                target[i] = add ? target[i] + sum : sum;
            }
        }
    }

    /// <summary>
    /// Rows [r, r + rows) of W (a tile's block: 4 or 8 rows) widened to float32, row i at rows + i·<paramref name="stride"/>, each
    /// zero-padded to <paramref name="padded"/> values; the rows of a short block past <paramref name="count"/> are
    /// left as they are (the tile's sums for them are ignored). <paramref name="bf16Rows"/>, when not null, holds the
    /// rows as bf16, <c>Cols</c> apart. The rows are widened in place, where the tile reads them: no copy into an
    /// interleaved panel, which cost a tenth of a Q4_K prompt product.
    /// </summary>
    private static void WidenRows(in WeightMatrix w, ushort* bf16Rows, int r, int count, float* rows, int stride, int padded)
    {
        int cols = w.Cols;
        for (int i = 0; i < count; i++)
        {
            float* target = rows + (long)i * stride;
            if (bf16Rows != null) BFloat16Kernels.Widen(bf16Rows + (long)i * cols, target, cols);
            else w.Format.WidenRow(w, r + i, target);
            new Span<float>(target + cols, padded - cols).Clear();
        }
    }

    /// <summary>
    /// Writes <paramref name="source"/> (cols floats, or zeros when null) as member <paramref name="slot"/> of a
    /// panel of <paramref name="members"/>: chunk c lands at c·members·lanes + slot·lanes, the last chunk zero-padded.
    /// </summary>
    private static void Interleave(float* source, int cols, float* panel, int slot, int members, int chunks, int lanes)
    {
        float* target = panel + slot * lanes;
        int stride = members * lanes;
        int full = source == null ? 0 : cols / lanes;
        int c = 0;
        if (lanes == 16)
            for (; c < full; c++) Vector512.Store(Vector512.Load(source + c * 16), target + c * stride);
        else if (lanes == 8)
            for (; c < full; c++) Vector256.Store(Vector256.Load(source + c * 8), target + c * stride);
        for (; c < chunks; c++)
            for (int j = 0; j < lanes; j++)
            {
                int k = c * lanes + j;
                target[c * stride + j] = source != null && k < cols ? source[k] : 0f;
            }
    }

    /// <summary>
    /// Token member <paramref name="slot"/> of a panel of <paramref name="members"/> in the order
    /// <see cref="KernelBf16"/> and <see cref="KernelBf16Avx2"/> widen bf16 in: the 16-bit unpacks turn a line of
    /// 2·lanes weights into two vectors holding, per 128-bit lane, values 0–3 then 4–7 of that lane's eight, so each
    /// 2·lanes-value group of the token is stored as those same two selections.
    /// </summary>
    private static void InterleaveForBf16Pairs(float* source, int cols, float* panel, int slot, int members, int lanes)
    {
        int stride = members * lanes;
        float* target = panel + slot * lanes;
        int line = 2 * lanes;
        for (int g = 0; g < cols / line; g++, target += 2 * stride)
        {
            if (lanes == 16)
            {
                var a = source == null ? default : Vector512.Load(source + g * 32);
                var b = source == null ? default : Vector512.Load(source + g * 32 + 16);
                // 128-bit lanes 0 and 2 of a and b hold the first four of each eight values, lanes 1 and 3 the last four.
                Vector512.Store(Avx512F.Shuffle4x128(a, b, 0b10_00_10_00), target);
                Vector512.Store(Avx512F.Shuffle4x128(a, b, 0b11_01_11_01), target + stride);
            }
            else
            {
                var a = source == null ? default : Vector256.Load(source + g * 16);
                var b = source == null ? default : Vector256.Load(source + g * 16 + 8);
                // The low halves of a and b are each lane's first four values, the high halves the last four.
                Vector256.Store(Avx.Permute2x128(a, b, 0x20), target);
                Vector256.Store(Avx.Permute2x128(a, b, 0x31), target + stride);
            }
        }
    }

    /// <summary>sums[i·4 + t] = Σ_k row_i[k]·token_t[k] over <paramref name="chunks"/> chunks: row i at rows + i·stride, the tokens interleaved.</summary>
    private static void Kernel(int count, float* rows, long stride, float* tokens, int chunks, Span<float> sums)
    {
        if (SimdWidth.Use512)
        {
            // As KernelBf16: a last token block of fewer than four tokens skips the padding's multiply-adds.
            switch (count)
            {
                case 1: Kernel512<One>(rows, stride, tokens, chunks, sums); break;
                case 2: Kernel512<Two>(rows, stride, tokens, chunks, sums); break;
                case 3: Kernel512<Three>(rows, stride, tokens, chunks, sums); break;
                default: Kernel512<Four>(rows, stride, tokens, chunks, sums); break;
            }
        }
        else if (SimdWidth.Use256) Kernel256(rows, stride, tokens, chunks, sums);
        else KernelScalar(rows, stride, tokens, chunks, sums);
    }

    /// <summary>The 4 × 4 register tile over float32 rows: sixteen accumulators, four token vectors and one weight vector live.</summary>
    private static void Kernel512<T>(float* w, long stride, float* x, int chunks, Span<float> sums) where T : struct, ITokenCount
    {
        float* w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int c = 0; c < chunks; c++, x += 64)
        {
            var v0 = Vector512.Load(x); var v1 = T.Count > 1 ? Vector512.Load(x + 16) : default;
            var v2 = T.Count > 2 ? Vector512.Load(x + 32) : default; var v3 = T.Count > 3 ? Vector512.Load(x + 48) : default;
            Tile<T>.Row(Vector512.Load(w + c * 16), v0, v1, v2, v3, ref a00, ref a01, ref a02, ref a03);
            Tile<T>.Row(Vector512.Load(w1 + c * 16), v0, v1, v2, v3, ref a10, ref a11, ref a12, ref a13);
            Tile<T>.Row(Vector512.Load(w2 + c * 16), v0, v1, v2, v3, ref a20, ref a21, ref a22, ref a23);
            Tile<T>.Row(Vector512.Load(w3 + c * 16), v0, v1, v2, v3, ref a30, ref a31, ref a32, ref a33);
        }
        StoreSums(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33, sums);
    }

    /// <summary>
    /// Eight float32 rows (row i at w + i·stride) × three panel tokens in 512-bit registers, sums token-major:
    /// sums[t·8 + i] for token t, row i. The rows stay in L1 while every token block of the slice streams past them.
    /// </summary>
    private static void Kernel512x8(int count, float* w, long stride, float* x, int chunks, Span<float> sums)
    {
        switch (count)
        {
            case 1: Kernel512x8<One>(w, stride, x, chunks, sums); break;
            case 2: Kernel512x8<Two>(w, stride, x, chunks, sums); break;
            default: Kernel512x8<Three>(w, stride, x, chunks, sums); break;
        }
    }

    private static void Kernel512x8<T>(float* w, long stride, float* x, int chunks, Span<float> sums) where T : struct, ITokenCount
    {
        float* w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride, w4 = w3 + stride, w5 = w4 + stride, w6 = w5 + stride, w7 = w6 + stride;
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
        Vector512<float> a60 = default, a61 = default, a62 = default, a70 = default, a71 = default, a72 = default;
        for (int c = 0; c < chunks; c++, x += 48)
        {
            var v0 = Vector512.Load(x); var v1 = T.Count > 1 ? Vector512.Load(x + 16) : default; var v2 = T.Count > 2 ? Vector512.Load(x + 32) : default;
            Tile<T>.Row(Vector512.Load(w + c * 16), v0, v1, v2, ref a00, ref a01, ref a02);
            Tile<T>.Row(Vector512.Load(w1 + c * 16), v0, v1, v2, ref a10, ref a11, ref a12);
            Tile<T>.Row(Vector512.Load(w2 + c * 16), v0, v1, v2, ref a20, ref a21, ref a22);
            Tile<T>.Row(Vector512.Load(w3 + c * 16), v0, v1, v2, ref a30, ref a31, ref a32);
            Tile<T>.Row(Vector512.Load(w4 + c * 16), v0, v1, v2, ref a40, ref a41, ref a42);
            Tile<T>.Row(Vector512.Load(w5 + c * 16), v0, v1, v2, ref a50, ref a51, ref a52);
            Tile<T>.Row(Vector512.Load(w6 + c * 16), v0, v1, v2, ref a60, ref a61, ref a62);
            Tile<T>.Row(Vector512.Load(w7 + c * 16), v0, v1, v2, ref a70, ref a71, ref a72);
        }
        SumOfFour(a00, a10, a20, a30).CopyTo(sums);
        SumOfFour(a40, a50, a60, a70).CopyTo(sums[4..]);
        if (T.Count > 1) { SumOfFour(a01, a11, a21, a31).CopyTo(sums[8..]); SumOfFour(a41, a51, a61, a71).CopyTo(sums[12..]); }
        if (T.Count > 2) { SumOfFour(a02, a12, a22, a32).CopyTo(sums[16..]); SumOfFour(a42, a52, a62, a72).CopyTo(sums[20..]); }
    }

    /// <summary>(Σa, Σb, Σc, Σd) over each accumulator's sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> SumOfFour(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        var lanes = SumLanesOfFour(a, b, c, d);
        var half = lanes.GetLower() + lanes.GetUpper();
        return half.GetLower() + half.GetUpper();
    }

    /// <summary>
    /// The 4 × 4 tile reading bf16 rows as stored: each 64-byte line of a row (32 weights) becomes two float32
    /// vectors by 16-bit unpacks against zero — one shuffle-port µop per vector, where zero-extend + shift took two
    /// and left the FMAs short of ports — and the tokens were packed in the unpacks' order
    /// (<see cref="InterleaveForBf16Pairs"/>). Rows past <paramref name="rows"/> re-read the block's first row and
    /// their sums are ignored. <paramref name="prefetch"/>, a line of each quarter per iteration, is the next row block's bytes.
    /// </summary>
    private static void KernelBf16(int tokens, ushort* w, long stride, int rows, float* x, int lines, Span<float> sums, Prefetch prefetch)
    {
        // A tile's last token block may hold fewer than four tokens: with two or three sequences per expert (a
        // batch of decoding sequences) a full tile would spend half its multiply-adds on padding.
        switch (tokens)
        {
            case 1: KernelBf16<One>(w, stride, rows, x, lines, sums, prefetch); break;
            case 2: KernelBf16<Two>(w, stride, rows, x, lines, sums, prefetch); break;
            case 3: KernelBf16<Three>(w, stride, rows, x, lines, sums, prefetch); break;
            default: KernelBf16<Four>(w, stride, rows, x, lines, sums, prefetch); break;
        }
    }

    private static void KernelBf16<T>(ushort* w, long stride, int rows, float* x, int lines, Span<float> sums, Prefetch prefetch) where T : struct, ITokenCount
    {
        ushort* w0 = w, w1 = rows > 1 ? w + stride : w, w2 = rows > 2 ? w + 2 * stride : w, w3 = rows > 3 ? w + 3 * stride : w;
        long quarter = prefetch.Quarter;
        byte* next = prefetch.Start, end = next + quarter;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        var zero = Vector512<ushort>.Zero;
        for (int l = 0; l < lines; l++, x += 128)
        {
            if (next < end)
            {
                prefetch.Lines(next);
                next += 64;
            }
            var r0 = Vector512.Load(w0 + l * 32); var r1 = Vector512.Load(w1 + l * 32);
            var r2 = Vector512.Load(w2 + l * 32); var r3 = Vector512.Load(w3 + l * 32);
            var v0 = Vector512.Load(x); var v1 = T.Count > 1 ? Vector512.Load(x + 16) : default;
            var v2 = T.Count > 2 ? Vector512.Load(x + 32) : default; var v3 = T.Count > 3 ? Vector512.Load(x + 48) : default;
            Tile<T>.Row(Avx512BW.UnpackLow(zero, r0).AsSingle(), v0, v1, v2, v3, ref a00, ref a01, ref a02, ref a03);
            Tile<T>.Row(Avx512BW.UnpackLow(zero, r1).AsSingle(), v0, v1, v2, v3, ref a10, ref a11, ref a12, ref a13);
            Tile<T>.Row(Avx512BW.UnpackLow(zero, r2).AsSingle(), v0, v1, v2, v3, ref a20, ref a21, ref a22, ref a23);
            Tile<T>.Row(Avx512BW.UnpackLow(zero, r3).AsSingle(), v0, v1, v2, v3, ref a30, ref a31, ref a32, ref a33);
            v0 = Vector512.Load(x + 64); v1 = T.Count > 1 ? Vector512.Load(x + 80) : default;
            v2 = T.Count > 2 ? Vector512.Load(x + 96) : default; v3 = T.Count > 3 ? Vector512.Load(x + 112) : default;
            Tile<T>.Row(Avx512BW.UnpackHigh(zero, r0).AsSingle(), v0, v1, v2, v3, ref a00, ref a01, ref a02, ref a03);
            Tile<T>.Row(Avx512BW.UnpackHigh(zero, r1).AsSingle(), v0, v1, v2, v3, ref a10, ref a11, ref a12, ref a13);
            Tile<T>.Row(Avx512BW.UnpackHigh(zero, r2).AsSingle(), v0, v1, v2, v3, ref a20, ref a21, ref a22, ref a23);
            Tile<T>.Row(Avx512BW.UnpackHigh(zero, r3).AsSingle(), v0, v1, v2, v3, ref a30, ref a31, ref a32, ref a33);
        }
        StoreSums(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33, sums);
    }

    /// <summary>One weight vector's multiply-adds into a tile row's accumulators, for the tile's tokens only.</summary>
    private static class Tile<T> where T : struct, ITokenCount
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Row(Vector512<float> u, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
            ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
        {
            a0 = Vector512.FusedMultiplyAdd(u, v0, a0);
            if (T.Count > 1) a1 = Vector512.FusedMultiplyAdd(u, v1, a1);
            if (T.Count > 2) a2 = Vector512.FusedMultiplyAdd(u, v2, a2);
            if (T.Count > 3) a3 = Vector512.FusedMultiplyAdd(u, v3, a3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Row(Vector512<float> u, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2,
            ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2)
        {
            a0 = Vector512.FusedMultiplyAdd(u, v0, a0);
            if (T.Count > 1) a1 = Vector512.FusedMultiplyAdd(u, v1, a1);
            if (T.Count > 2) a2 = Vector512.FusedMultiplyAdd(u, v2, a2);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Row(Vector256<float> u, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2,
            ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2)
        {
            a0 = Vector256.FusedMultiplyAdd(u, v0, a0);
            if (T.Count > 1) a1 = Vector256.FusedMultiplyAdd(u, v1, a1);
            if (T.Count > 2) a2 = Vector256.FusedMultiplyAdd(u, v2, a2);
        }
    }

    /// <summary>sums[i·4 + t] = the sum of accumulator (i, t)'s sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreSums(
        Vector512<float> a00, Vector512<float> a01, Vector512<float> a02, Vector512<float> a03,
        Vector512<float> a10, Vector512<float> a11, Vector512<float> a12, Vector512<float> a13,
        Vector512<float> a20, Vector512<float> a21, Vector512<float> a22, Vector512<float> a23,
        Vector512<float> a30, Vector512<float> a31, Vector512<float> a32, Vector512<float> a33, Span<float> sums)
    {
        var row0 = SumLanesOfFour(a00, a01, a02, a03);
        var row1 = SumLanesOfFour(a10, a11, a12, a13);
        var row2 = SumLanesOfFour(a20, a21, a22, a23);
        var row3 = SumLanesOfFour(a30, a31, a32, a33);
        // Sum the four 128-bit lanes: element i·4 + t of the result is accumulator (i, t) summed over all 16 lanes.
        var upper = Avx512F.Shuffle4x128(row0, row1, 0x44) + Avx512F.Shuffle4x128(row0, row1, 0xEE);
        var lower = Avx512F.Shuffle4x128(row2, row3, 0x44) + Avx512F.Shuffle4x128(row2, row3, 0xEE);
        var total = Avx512F.Shuffle4x128(upper, lower, 0x88) + Avx512F.Shuffle4x128(upper, lower, 0xDD);
        total.CopyTo(sums);
    }

    /// <summary>
    /// Partial sums of four accumulators packed into one vector: each 128-bit lane holds (a, b, c, d) summed over that
    /// lane's four elements. Replaces sixteen full horizontal sums (≈400 instructions per tile) with about forty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> SumLanesOfFour(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        var ab = Avx512F.UnpackLow(a, b) + Avx512F.UnpackHigh(a, b); // per lane: a0+a2, b0+b2, a1+a3, b1+b3
        var cd = Avx512F.UnpackLow(c, d) + Avx512F.UnpackHigh(c, d);
        // 64-bit unpacks pair (a, b) halves with (c, d) halves: per lane a, b, c, d.
        return Avx512F.UnpackLow(ab.AsDouble(), cd.AsDouble()).AsSingle() + Avx512F.UnpackHigh(ab.AsDouble(), cd.AsDouble()).AsSingle();
    }

    /// <summary>
    /// The AVX2 tile over bf16 rows read as stored: 4 rows × 3 tokens, sized for the sixteen ymm registers —
    /// twelve accumulators, three token vectors and one widened weight vector. (A 4 × 4 tile needs 21 and spills
    /// in the inner loop.) Each 32-byte load of a row (16 weights) is widened twice, by 16-bit unpacks against
    /// zero with the load folded into the unpack: loading it once would take a seventeenth register, and a second
    /// L1 load is cheaper than a spill. Zero is an idiom the CPU renames away, so it costs no register either.
    /// One unpack feeds three FMAs, so the shuffle port keeps up with both FMA ports. The tokens were packed in the
    /// unpacks' order (<see cref="InterleaveForBf16Pairs"/>). Rows past <paramref name="rows"/> re-read the block's
    /// first row and their sums are ignored. <paramref name="prefetch"/>, a line of each quarter every other
    /// iteration, is the next row block's bytes. Leaves sums[t·4 + i] for token t
    /// and row i: one lane-transposing reduction per token (<see cref="SumLanesOfFour(Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float})"/>)
    /// instead of twelve full horizontal sums.
    /// </summary>
    private static void KernelBf16Avx2(int tokens, ushort* w, long stride, int rows, float* x, int lines, Span<float> sums, Prefetch prefetch)
    {
        // As KernelBf16: a last token block of one or two tokens skips the padding's multiply-adds.
        switch (tokens)
        {
            case 1: KernelBf16Avx2<One>(w, stride, rows, x, lines, sums, prefetch); break;
            case 2: KernelBf16Avx2<Two>(w, stride, rows, x, lines, sums, prefetch); break;
            default: KernelBf16Avx2<Three>(w, stride, rows, x, lines, sums, prefetch); break;
        }
    }

    private static void KernelBf16Avx2<T>(ushort* w, long stride, int rows, float* x, int lines, Span<float> sums, Prefetch prefetch) where T : struct, ITokenCount
    {
        ushort* w0 = w, w1 = rows > 1 ? w + stride : w, w2 = rows > 2 ? w + 2 * stride : w, w3 = rows > 3 ? w + 3 * stride : w;
        // The high halves are read through pointers of their own: from the same expression as the low halves the
        // JIT would merge the two loads into one value and, short of a register, spill it and reload it from the stack.
        ushort* h0 = w0, h1 = w1, h2 = w2, h3 = w3;
        long quarter = prefetch.Quarter;
        byte* next = prefetch.Start, end = next + quarter;
        Vector256<float> a00 = default, a01 = default, a02 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default;
        for (int l = 0; l < lines; l++, x += 48, h0 += 16, h1 += 16, h2 += 16, h3 += 16)
        {
            if ((l & 1) == 0 && next < end)
            {
                prefetch.Lines(next);
                next += 64;
            }
            var v0 = Vector256.Load(x); var v1 = T.Count > 1 ? Vector256.Load(x + 8) : default; var v2 = T.Count > 2 ? Vector256.Load(x + 16) : default;
            var u = Low(w0 + l * 16);
            Tile<T>.Row(u, v0, v1, v2, ref a00, ref a01, ref a02);
            u = Low(w1 + l * 16);
            Tile<T>.Row(u, v0, v1, v2, ref a10, ref a11, ref a12);
            u = Low(w2 + l * 16);
            Tile<T>.Row(u, v0, v1, v2, ref a20, ref a21, ref a22);
            u = Low(w3 + l * 16);
            Tile<T>.Row(u, v0, v1, v2, ref a30, ref a31, ref a32);
            v0 = Vector256.Load(x + 24); v1 = T.Count > 1 ? Vector256.Load(x + 32) : default; v2 = T.Count > 2 ? Vector256.Load(x + 40) : default;
            u = High(h0);
            Tile<T>.Row(u, v0, v1, v2, ref a00, ref a01, ref a02);
            u = High(h1);
            Tile<T>.Row(u, v0, v1, v2, ref a10, ref a11, ref a12);
            u = High(h2);
            Tile<T>.Row(u, v0, v1, v2, ref a20, ref a21, ref a22);
            u = High(h3);
            Tile<T>.Row(u, v0, v1, v2, ref a30, ref a31, ref a32);
        }
        SumLanesOfFour(a00, a10, a20, a30).CopyTo(sums);
        SumLanesOfFour(a01, a11, a21, a31).CopyTo(sums[Block..]);
        SumLanesOfFour(a02, a12, a22, a32).CopyTo(sums[(2 * Block)..]);
    }

    /// <summary>Values 0–3 and 8–11 of the 16 bf16 at <paramref name="p"/>, widened (the load folds into the unpack).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Low(ushort* p) => Avx2.UnpackLow(Vector256<ushort>.Zero, Avx.LoadVector256(p)).AsSingle();

    /// <summary>Values 4–7 and 12–15 of the 16 bf16 at <paramref name="p"/>, widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> High(ushort* p) => Avx2.UnpackHigh(Vector256<ushort>.Zero, Avx.LoadVector256(p)).AsSingle();

    /// <summary>(Σa, Σb, Σc, Σd) over each accumulator's eight lanes: the 256-bit form of the AVX-512 reduction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> SumLanesOfFour(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var ab = Avx.UnpackLow(a, b) + Avx.UnpackHigh(a, b); // per lane: a0+a2, b0+b2, a1+a3, b1+b3
        var cd = Avx.UnpackLow(c, d) + Avx.UnpackHigh(c, d);
        var lanes = Avx.UnpackLow(ab.AsDouble(), cd.AsDouble()).AsSingle() + Avx.UnpackHigh(ab.AsDouble(), cd.AsDouble()).AsSingle();
        return lanes.GetLower() + lanes.GetUpper();
    }

    /// <summary>
    /// Four float32 rows (row i at w + i·stride) × three panel tokens (AVX2 + FMA), sums token-major as
    /// <see cref="KernelBf16Avx2"/> leaves them: sums[t·4 + i] for token t, row i.
    /// </summary>
    private static void Kernel256x3(int count, float* w, long stride, float* x, int chunks, Span<float> sums)
    {
        switch (count)
        {
            case 1: Kernel256x3<One>(w, stride, x, chunks, sums); break;
            case 2: Kernel256x3<Two>(w, stride, x, chunks, sums); break;
            default: Kernel256x3<Three>(w, stride, x, chunks, sums); break;
        }
    }

    private static void Kernel256x3<T>(float* w, long stride, float* x, int chunks, Span<float> sums) where T : struct, ITokenCount
    {
        float* w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride;
        Vector256<float> a00 = default, a01 = default, a02 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default;
        for (int c = 0; c < chunks; c++, x += 3 * 8)
        {
            var v0 = Vector256.Load(x); var v1 = T.Count > 1 ? Vector256.Load(x + 8) : default; var v2 = T.Count > 2 ? Vector256.Load(x + 16) : default;
            var u = Vector256.Load(w + c * 8);
            Tile<T>.Row(u, v0, v1, v2, ref a00, ref a01, ref a02);
            u = Vector256.Load(w1 + c * 8);
            Tile<T>.Row(u, v0, v1, v2, ref a10, ref a11, ref a12);
            u = Vector256.Load(w2 + c * 8);
            Tile<T>.Row(u, v0, v1, v2, ref a20, ref a21, ref a22);
            u = Vector256.Load(w3 + c * 8);
            Tile<T>.Row(u, v0, v1, v2, ref a30, ref a31, ref a32);
        }
        SumLanesOfFour(a00, a10, a20, a30).CopyTo(sums);
        SumLanesOfFour(a01, a11, a21, a31).CopyTo(sums[Block..]);
        SumLanesOfFour(a02, a12, a22, a32).CopyTo(sums[(2 * Block)..]);
    }

    private static void Kernel256(float* w, long stride, float* x, int chunks, Span<float> sums)
    {
        float* w1 = w + stride, w2 = w1 + stride, w3 = w2 + stride;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int c = 0; c < chunks; c++, x += 32)
        {
            var v0 = Vector256.Load(x); var v1 = Vector256.Load(x + 8);
            var v2 = Vector256.Load(x + 16); var v3 = Vector256.Load(x + 24);
            var u = Vector256.Load(w + c * 8);
            a00 = Vector256.FusedMultiplyAdd(u, v0, a00); a01 = Vector256.FusedMultiplyAdd(u, v1, a01);
            a02 = Vector256.FusedMultiplyAdd(u, v2, a02); a03 = Vector256.FusedMultiplyAdd(u, v3, a03);
            u = Vector256.Load(w1 + c * 8);
            a10 = Vector256.FusedMultiplyAdd(u, v0, a10); a11 = Vector256.FusedMultiplyAdd(u, v1, a11);
            a12 = Vector256.FusedMultiplyAdd(u, v2, a12); a13 = Vector256.FusedMultiplyAdd(u, v3, a13);
            u = Vector256.Load(w2 + c * 8);
            a20 = Vector256.FusedMultiplyAdd(u, v0, a20); a21 = Vector256.FusedMultiplyAdd(u, v1, a21);
            a22 = Vector256.FusedMultiplyAdd(u, v2, a22); a23 = Vector256.FusedMultiplyAdd(u, v3, a23);
            u = Vector256.Load(w3 + c * 8);
            a30 = Vector256.FusedMultiplyAdd(u, v0, a30); a31 = Vector256.FusedMultiplyAdd(u, v1, a31);
            a32 = Vector256.FusedMultiplyAdd(u, v2, a32); a33 = Vector256.FusedMultiplyAdd(u, v3, a33);
        }
        sums[0] = Vector256.Sum(a00); sums[1] = Vector256.Sum(a01); sums[2] = Vector256.Sum(a02); sums[3] = Vector256.Sum(a03);
        sums[4] = Vector256.Sum(a10); sums[5] = Vector256.Sum(a11); sums[6] = Vector256.Sum(a12); sums[7] = Vector256.Sum(a13);
        sums[8] = Vector256.Sum(a20); sums[9] = Vector256.Sum(a21); sums[10] = Vector256.Sum(a22); sums[11] = Vector256.Sum(a23);
        sums[12] = Vector256.Sum(a30); sums[13] = Vector256.Sum(a31); sums[14] = Vector256.Sum(a32); sums[15] = Vector256.Sum(a33);
    }

    /// <summary>The reference the vector kernels must agree with: plain loops over the same layout (4 lanes).</summary>
    private static void KernelScalar(float* w, long stride, float* x, int chunks, Span<float> sums)
    {
        const int lanes = 4;
        sums.Clear();
        for (int c = 0; c < chunks; c++)
            for (int i = 0; i < Block; i++)
                for (int t = 0; t < Block; t++)
                    for (int j = 0; j < lanes; j++)
                        sums[i * Block + t] += w[i * stride + c * lanes + j] * x[c * Block * lanes + t * lanes + j];
    }
}
