using System.Text;

namespace OlmoeSharp.Tokenization.Unicode;

/// <summary>
/// Unicode Normalization Form C (UAX #15): canonical decomposition, canonical ordering, canonical composition.
/// Needed because the library runs with InvariantGlobalization, where <see cref="string.Normalize()"/> returns its
/// input unchanged, and the reference tokenizer NFC-normalizes its input before BPE.
/// </summary>
/// <remarks>
/// Text is scanned for "unsafe" code points (see <see cref="UnicodeProperties.IsNfcUnsafe"/>); runs of safe text are
/// copied through, and only the stretch from the last safe starter before an unsafe code point to the next safe one
/// is normalized. Already-normalized text (nearly all text) is never copied.
/// </remarks>
internal static class Nfc
{
    // A run of combining marks longer than this is sorted by counting rather than by insertion, so hostile input
    // (thousands of stacked marks) stays linear.
    private const int InsertionSortLimit = 32;

    private static readonly Dictionary<int, int[]> Decompositions = BuildDecompositions();
    private static readonly IntPairMap Compositions = BuildCompositions();

    /// <summary>Returns the NFC form of <paramref name="text"/> (the same instance when it is already NFC).</summary>
    public static string Normalize(string text) => NormalizeOrNull(text) ?? text;

    /// <summary>Returns the NFC form of <paramref name="text"/>, or null when the text is already NFC.</summary>
    /// <remarks>Lone surrogates are left as they are (they are starters that compose with nothing).</remarks>
    public static string? NormalizeOrNull(ReadOnlySpan<char> text) => NormalizeOrNull(text, null);

    /// <summary>
    /// Returns the NFC form of <paramref name="text"/>, or null when the text is already NFC, and adds to
    /// <paramref name="changes"/> every stretch that normalization rewrote, in order. Everything outside those
    /// stretches is copied unchanged, and each stretch normalizes on its own: the text can be cut at either end of
    /// one and the two parts normalize to the two parts of the result.
    /// </summary>
    public static string? NormalizeOrNull(ReadOnlySpan<char> text, List<NfcChange>? changes)
    {
        int firstUnsafe = FindUnsafe(text, 0);
        if (firstUnsafe < 0) return null;
        var output = new StringBuilder(text.Length + 8);
        var decomposed = new CodePointBuffer(16);
        int position = 0;
        int unsafeAt = firstUnsafe;
        while (unsafeAt >= 0)
        {
            // The segment starts at the safe starter just before the unsafe code point (marks may compose onto it)
            // and runs to the next safe code point, which can neither reorder nor compose with what precedes it.
            int start = unsafeAt;
            if (start > position)
                start -= start >= 2 && char.IsLowSurrogate(text[start - 1]) && char.IsHighSurrogate(text[start - 2]) ? 2 : 1;
            output.Append(text[position..start]);
            int end = unsafeAt;
            while (end < text.Length)
            {
                int codePoint = ReadCodePoint(text, end, out int length);
                if (!UnicodeProperties.IsNfcUnsafe(codePoint)) break;
                end += length;
            }
            int normalizedStart = output.Length;
            NormalizeSegment(text[start..end], ref decomposed, output);
            if (changes is not null && !Matches(output, normalizedStart, text[start..end]))
                changes.Add(new NfcChange(start, end, normalizedStart, output.Length));
            position = end;
            unsafeAt = FindUnsafe(text, end);
        }
        output.Append(text[position..]);
        return output.ToString();
    }

    private static bool Matches(StringBuilder output, int start, ReadOnlySpan<char> source)
    {
        if (output.Length - start != source.Length) return false;
        for (int i = 0; i < source.Length; i++)
        {
            if (output[start + i] != source[i]) return false;
        }
        return true;
    }

    private static int FindUnsafe(ReadOnlySpan<char> text, int from)
    {
        for (int i = from; i < text.Length;)
        {
            // Nothing below U+0300 is unsafe: runs of ASCII, Latin-1 and Latin Extended are skipped vectorized.
            int skip = text[i..].IndexOfAnyExceptInRange('\0', '\u02FF');
            if (skip < 0) break;
            i += skip;
            int codePoint = ReadCodePoint(text, i, out int length);
            if (UnicodeProperties.IsNfcUnsafe(codePoint)) return i;
            i += length;
        }
        return -1;
    }

    private static void NormalizeSegment(ReadOnlySpan<char> segment, ref CodePointBuffer buffer, StringBuilder output)
    {
        buffer.Clear();
        for (int i = 0; i < segment.Length;)
        {
            int codePoint = ReadCodePoint(segment, i, out int length);
            i += length;
            if (Hangul.IsSyllable(codePoint))
            {
                Hangul.Decompose(codePoint, ref buffer);
            }
            else if (Decompositions.TryGetValue(codePoint, out var parts))
            {
                foreach (int part in parts) buffer.Add(part);
            }
            else
            {
                buffer.Add(codePoint);
            }
        }
        var codePoints = buffer.Items;
        SortCombiningMarks(codePoints);
        int count = Compose(codePoints);
        foreach (int codePoint in codePoints[..count])
        {
            if (codePoint < 0x10000) output.Append((char)codePoint);
            else output.Append(char.ConvertFromUtf32(codePoint));
        }
    }

    /// <summary>Canonical ordering: every run of non-starters is stably sorted by combining class.</summary>
    private static void SortCombiningMarks(Span<int> codePoints)
    {
        int i = 0;
        while (i < codePoints.Length)
        {
            if (UnicodeProperties.GetCombiningClass(codePoints[i]) == 0)
            {
                i++;
                continue;
            }
            int runStart = i;
            while (i < codePoints.Length && UnicodeProperties.GetCombiningClass(codePoints[i]) != 0) i++;
            var run = codePoints[runStart..i];
            if (run.Length <= InsertionSortLimit) InsertionSort(run);
            else CountingSort(run);
        }
    }

    private static void InsertionSort(Span<int> run)
    {
        for (int i = 1; i < run.Length; i++)
        {
            int item = run[i];
            int itemClass = UnicodeProperties.GetCombiningClass(item);
            int j = i - 1;
            while (j >= 0 && UnicodeProperties.GetCombiningClass(run[j]) > itemClass)
            {
                run[j + 1] = run[j];
                j--;
            }
            run[j + 1] = item;
        }
    }

    private static void CountingSort(Span<int> run)
    {
        Span<int> starts = stackalloc int[257];
        foreach (int codePoint in run) starts[UnicodeProperties.GetCombiningClass(codePoint) + 1]++;
        for (int c = 1; c < starts.Length; c++) starts[c] += starts[c - 1];
        var sorted = new int[run.Length];
        foreach (int codePoint in run) sorted[starts[UnicodeProperties.GetCombiningClass(codePoint)]++] = codePoint;
        sorted.CopyTo(run);
    }

    /// <summary>Canonical composition in place; returns the new length.</summary>
    private static int Compose(Span<int> codePoints)
    {
        int starter = -1;
        int lastClass = 0;
        int count = 0;
        foreach (int codePoint in codePoints)
        {
            int combiningClass = UnicodeProperties.GetCombiningClass(codePoint);
            // A character composes with the last starter unless something between them blocks it: a starter, or a
            // mark of the same or a higher class (after canonical ordering the last one is the highest).
            bool adjacent = count == starter + 1;
            if (starter >= 0 && (adjacent || (lastClass != 0 && lastClass < combiningClass))
                && TryCompose(codePoints[starter], codePoint, out int composite))
            {
                codePoints[starter] = composite;
                continue;
            }
            if (combiningClass == 0) starter = count;
            lastClass = combiningClass;
            codePoints[count++] = codePoint;
        }
        return count;
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        if (Hangul.TryCompose(first, second, out composite)) return true;
        if (Compositions.TryGetValue(first, second, out long value))
        {
            composite = (int)value;
            return true;
        }
        return false;
    }

    private static int ReadCodePoint(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(c, text[index + 1]);
        }
        length = 1;
        return c;
    }

    private static Dictionary<int, int[]> BuildDecompositions()
    {
        var oneStep = new Dictionary<int, (int First, int Second)>();
        var table = UnicodeTables.CanonicalDecompositions;
        for (int i = 0; i < table.Length; i += 3) oneStep[table[i]] = (table[i + 1], table[i + 2]);

        // Expand recursively once here, so normalization itself is a single lookup per code point.
        var full = new Dictionary<int, int[]>(oneStep.Count);
        var parts = new List<int>();
        foreach (int codePoint in oneStep.Keys)
        {
            parts.Clear();
            Expand(codePoint, oneStep, parts);
            full[codePoint] = [.. parts];
        }
        return full;

        static void Expand(int codePoint, Dictionary<int, (int First, int Second)> oneStep, List<int> parts)
        {
            if (!oneStep.TryGetValue(codePoint, out var pair))
            {
                parts.Add(codePoint);
                return;
            }
            Expand(pair.First, oneStep, parts);
            if (pair.Second != 0) Expand(pair.Second, oneStep, parts);
        }
    }

    private static IntPairMap BuildCompositions()
    {
        var table = UnicodeTables.PrimaryCompositions;
        var map = new IntPairMap(table.Length / 3);
        for (int i = 0; i < table.Length; i += 3) map.Set(table[i], table[i + 1], table[i + 2]);
        return map;
    }
}

/// <summary>A stretch NFC rewrote: input [<paramref name="SourceStart"/>, <paramref name="SourceEnd"/>) became output [<paramref name="Start"/>, <paramref name="End"/>).</summary>
internal readonly record struct NfcChange(int SourceStart, int SourceEnd, int Start, int End);
