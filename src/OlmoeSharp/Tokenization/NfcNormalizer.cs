using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical composition), as the
/// tokenizer's NFC normaliser requires. .NET's string.Normalize does nothing under InvariantGlobalization, which
/// many server apps enable, so the library carries its own tables (NfcTables.g.cs, generated from Unicode data).
/// </summary>
internal static partial class NfcNormalizer
{
    // Hangul syllables compose and decompose algorithmically (Unicode §3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    // Lazy: the raw tables live in the generated partial file, whose static fields may initialise after these.
    private static readonly Lazy<Dictionary<int, int[]>> DecompositionMap = new(BuildDecompositions);
    private static readonly Lazy<Dictionary<long, int>> CompositionMap = new(BuildCompositions);

    /// <summary>Returns the NFC form of <paramref name="text"/> (the same instance when it is already NFC).</summary>
    public static string Normalize(string text)
    {
        // Everything below U+0300 is NFC and cannot combine with what follows it: the common case costs one scan.
        if (!text.AsSpan().ContainsAnyInRange('\u0300', '\uFFFF')) return text;
        if (IsNormalizedQuick(text)) return text;

        var codePoints = new List<int>(text.Length);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, codePoints);
        ReorderCombiningMarks(codePoints);
        Compose(codePoints);

        var builder = new StringBuilder(text.Length);
        foreach (int cp in codePoints) builder.Append(char.ConvertFromUtf32(cp));
        string result = builder.ToString();
        return result == text ? text : result;
    }

    /// <summary>
    /// Unicode's NFC quick check, conservatively: true when every character is a starter that neither decomposes nor
    /// composes with what precedes it (CJK, most scripts, precomposed Latin), so the text is already NFC.
    /// BMP answers come from a table built once; anything else takes the full algorithm.
    /// </summary>
    private static bool IsNormalizedQuick(string text)
    {
        var stable = BmpStable.Value;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c))
            {
                if (!stable[c]) return false;
                continue;
            }
            // Astral characters (emoji, most of them) are stable unless listed.
            if (!char.IsHighSurrogate(c) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return false;
            if (AstralUnstable.Value.Contains(char.ConvertToUtf32(c, text[++i]))) return false;
        }
        return true;
    }

    private static readonly Lazy<HashSet<int>> AstralUnstable = new(() =>
    {
        var unstable = new HashSet<int>();
        for (int i = 0; i < CombiningClassRanges.Length; i += 3)
            for (int cp = Math.Max(CombiningClassRanges[i], 0x10000); cp <= CombiningClassRanges[i + 1]; cp++) unstable.Add(cp);
        foreach (int cp in DecompositionMap.Value.Keys) if (cp >= 0x10000) unstable.Add(cp);
        for (int i = 0; i < Compositions.Length; i += 3) if (Compositions[i + 1] >= 0x10000) unstable.Add(Compositions[i + 1]);
        return unstable;
    });

    private static readonly Lazy<System.Collections.BitArray> BmpStable = new(() =>
    {
        var seconds = new HashSet<int>();
        for (int i = 0; i < Compositions.Length; i += 3) seconds.Add(Compositions[i + 1]);
        var stable = new System.Collections.BitArray(0x10000);
        for (int c = 0; c < 0x10000; c++)
        {
            bool hangulJamoSecond = c is >= VBase and < VBase + VCount or > TBase and < TBase + TCount;
            bool decomposes = DecompositionMap.Value.ContainsKey(c) || c - SBase is >= 0 and < SCount;
            // A precomposed character is stable when NFC maps it to itself: it decomposes and recomposes unchanged.
            bool precomposedStable = decomposes && c - SBase is >= 0 and < SCount || decomposes && RecomposesToItself(c);
            stable[c] = CombiningClass(c) == 0 && !seconds.Contains(c) && !hangulJamoSecond && (!decomposes || precomposedStable);
        }
        return stable;
    });

    private static bool RecomposesToItself(int cp)
    {
        var cps = new List<int>();
        Decompose(cp, cps);
        ReorderCombiningMarks(cps);
        Compose(cps);
        return cps.Count == 1 && cps[0] == cp;
    }

    /// <summary>Canonical combining class of a code point (0 for starters).</summary>
    public static int CombiningClass(int cp)
    {
        int lo = 0, hi = CombiningClassRanges.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < CombiningClassRanges[mid * 3]) hi = mid - 1;
            else if (cp > CombiningClassRanges[mid * 3 + 1]) lo = mid + 1;
            else return CombiningClassRanges[mid * 3 + 2];
        }
        return 0;
    }

    private static void Decompose(int cp, List<int> output)
    {
        int s = cp - SBase;
        if (s is >= 0 and < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (DecompositionMap.Value.TryGetValue(cp, out var parts))
        {
            foreach (int part in parts) Decompose(part, output);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Stable sort of each run of non-starters by combining class.</summary>
    private static void ReorderCombiningMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cc = CombiningClass(cps[i]);
            if (cc == 0) continue;
            int j = i;
            while (j > 0 && CombiningClass(cps[j - 1]) > cc)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    /// <summary>
    /// Canonical composition: each character composes with the last starter if nothing between them blocks it
    /// (an intervening character of equal or higher combining class, or any starter).
    /// </summary>
    private static void Compose(List<int> cps)
    {
        int starter = -1, lastClass = -1, write = 0;
        foreach (int cp in cps.ToArray())
        {
            int cc = CombiningClass(cp);
            if (starter >= 0 && (lastClass == -1 || lastClass < cc) && TryCompose(cps[starter], cp, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (cc == 0)
            {
                starter = write;
                lastClass = -1;
            }
            else
            {
                lastClass = cc;
            }
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount)
        {
            composite = first + t;
            return true;
        }
        return CompositionMap.Value.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private static Dictionary<int, int[]> BuildDecompositions()
    {
        var map = new Dictionary<int, int[]>();
        for (int i = 0; i < Decompositions.Length;)
        {
            int cp = Decompositions[i], length = Decompositions[i + 1];
            map[cp] = Decompositions.AsSpan(i + 2, length).ToArray();
            i += 2 + length;
        }
        return map;
    }

    private static Dictionary<long, int> BuildCompositions()
    {
        var map = new Dictionary<long, int>();
        for (int i = 0; i < Compositions.Length; i += 3)
            map[((long)Compositions[i] << 21) | (uint)Compositions[i + 1]] = Compositions[i + 2];
        return map;
    }
}
