namespace OlmoeSharp.Tokenization.Unicode;

/// <summary>
/// Per-code-point properties the tokenizer needs (character class, canonical combining class, NFC quick-check),
/// expanded once from the range lists in <see cref="UnicodeTables"/> into a two-stage table: a lookup is two
/// array reads, and identical 128-code-point blocks (most of the planes) are stored once.
/// </summary>
internal static class UnicodeProperties
{
    private const int BlockShift = 7;
    private const int BlockSize = 1 << BlockShift;
    private const int CodePointCount = 0x110000;

    // Bits of one entry: 0-7 canonical combining class, 8-9 CharClass, 10 "NFC-unsafe".
    private const int ClassShift = 8;
    private const ushort NfcUnsafeBit = 1 << 10;

    private static readonly ushort[] Stage1;
    private static readonly ushort[] Stage2;

    static UnicodeProperties()
    {
        var flat = new ushort[CodePointCount];
        var ranges = UnicodeTables.CharacterClassRanges;
        for (int i = 0; i < ranges.Length; i += 3)
            flat.AsSpan(ranges[i], ranges[i + 1] - ranges[i] + 1).Fill((ushort)(ranges[i + 2] << ClassShift));
        ranges = UnicodeTables.CombiningClassRanges;
        for (int i = 0; i < ranges.Length; i += 3)
        {
            for (int cp = ranges[i]; cp <= ranges[i + 1]; cp++) flat[cp] |= (ushort)(ranges[i + 2] | NfcUnsafeBit);
        }

        // A character that has a canonical decomposition but is not itself a primary composite never survives
        // NFC (singletons, exclusions); one that can be the second half of a composition may merge with what
        // precedes it; Hangul vowel and trailing jamo compose algorithmically. Everything else with class 0 is
        // left exactly as it is by NFC, which is what lets Nfc skip whole runs of text.
        var compositions = UnicodeTables.PrimaryCompositions;
        var composites = new HashSet<int>();
        for (int i = 0; i < compositions.Length; i += 3)
        {
            composites.Add(compositions[i + 2]);
            flat[compositions[i + 1]] |= NfcUnsafeBit;
        }
        var decompositions = UnicodeTables.CanonicalDecompositions;
        for (int i = 0; i < decompositions.Length; i += 3)
        {
            if (!composites.Contains(decompositions[i])) flat[decompositions[i]] |= NfcUnsafeBit;
        }
        for (int cp = Hangul.VowelBase; cp < Hangul.VowelBase + Hangul.VowelCount; cp++) flat[cp] |= NfcUnsafeBit;
        for (int cp = Hangul.TrailBase + 1; cp < Hangul.TrailBase + Hangul.TrailCount; cp++) flat[cp] |= NfcUnsafeBit;
        (Stage1, Stage2) = Compress(flat);
    }

    /// <summary>The GPT-2 regex class of <paramref name="codePoint"/>.</summary>
    public static CharClass GetClass(int codePoint) => (CharClass)((Get(codePoint) >> ClassShift) & 3);

    /// <summary>The canonical combining class of <paramref name="codePoint"/> (0 for starters).</summary>
    public static int GetCombiningClass(int codePoint) => Get(codePoint) & 0xFF;

    /// <summary>
    /// False when NFC certainly leaves <paramref name="codePoint"/> as it is and it cannot interact with its
    /// neighbours (a starter that neither decomposes away nor composes with a preceding character).
    /// </summary>
    public static bool IsNfcUnsafe(int codePoint) => (Get(codePoint) & NfcUnsafeBit) != 0;

    private static ushort Get(int codePoint) =>
        Stage2[(Stage1[codePoint >> BlockShift] << BlockShift) | (codePoint & (BlockSize - 1))];

    private static (ushort[] Stage1, ushort[] Stage2) Compress(ushort[] flat)
    {
        var stage1 = new ushort[CodePointCount >> BlockShift];
        var blocks = new List<ushort>();
        var seen = new Dictionary<string, ushort>(StringComparer.Ordinal);
        for (int block = 0; block < stage1.Length; block++)
        {
            var span = flat.AsSpan(block << BlockShift, BlockSize);
            // The block's content as a string key: exact, and only run once at start-up.
            string key = new string(System.Runtime.InteropServices.MemoryMarshal.Cast<ushort, char>(span));
            if (!seen.TryGetValue(key, out ushort index))
            {
                index = (ushort)(blocks.Count >> BlockShift);
                seen.Add(key, index);
                foreach (ushort value in span) blocks.Add(value);
            }
            stage1[block] = index;
        }
        return (stage1, blocks.ToArray());
    }
}
