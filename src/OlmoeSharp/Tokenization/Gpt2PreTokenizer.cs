using System.Globalization;
using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// The GPT-2 split that byte-level BPE runs on, equivalent to the regex
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, written as a scanner over
/// code points: .NET's regex classes see a surrogate pair as two non-letters, which splits e.g. "𝐀's" wrongly.
/// </summary>
internal static class Gpt2PreTokenizer
{
    private enum Kind { Letter, Number, Space, Other }

    /// <summary>ASCII classes by table: most text is ASCII, and Unicode lookups cost more than the rest of the split.</summary>
    private static readonly Kind[] AsciiKinds = Enumerable.Range(0, 128).Select(c => (char)c switch
    {
        >= 'a' and <= 'z' or >= 'A' and <= 'Z' => Kind.Letter,
        >= '0' and <= '9' => Kind.Number,
        ' ' or '\t' or '\n' or '\v' or '\f' or '\r' => Kind.Space, // Unicode White_Space (not U+001C–U+001F)
        _ => Kind.Other,
    }).ToArray();

    /// <summary>Calls <paramref name="onPiece"/> with (start, length) of each piece of <paramref name="text"/>, in order.</summary>
    public static void Split(string text, Action<int, int> onPiece)
    {
        int i = 0;
        while (i < text.Length)
        {
            int length = Match(text, i);
            onPiece(i, length);
            i += length;
        }
    }

    private static int Match(string s, int i)
    {
        if (s[i] == '\'' && i + 1 < s.Length)
        {
            char a = s[i + 1];
            if (a is 's' or 't' or 'm' or 'd') return 2;
            if (i + 2 < s.Length && ((a == 'r' && s[i + 2] == 'e') || (a == 'v' && s[i + 2] == 'e') || (a == 'l' && s[i + 2] == 'l'))) return 3;
        }

        // " ?X+" for letters, numbers and other symbols: an optional single space, then a run of one class.
        int start = s[i] == ' ' && i + 1 < s.Length ? i + 1 : i;
        var kind = KindAt(s, start);
        if (kind != Kind.Space && (start == i + 1 || s[i] != ' '))
        {
            int end = start;
            while (end < s.Length && KindAt(s, end) == kind) end += Width(s, end);
            return end - i;
        }

        // Whitespace: a run, leaving its last character for the next piece when a non-space follows ("\s+(?!\S)"),
        // unless the run is that single character ("\s+").
        int runEnd = i;
        while (runEnd < s.Length && KindAt(s, runEnd) == Kind.Space) runEnd += Width(s, runEnd);
        if (runEnd == s.Length) return runEnd - i;
        int lastWidth = char.IsLowSurrogate(s[runEnd - 1]) ? 2 : 1;
        return runEnd - lastWidth > i ? runEnd - lastWidth - i : runEnd - i;
    }

    private static int Width(string s, int i) => char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    private static Kind KindAt(string s, int i)
    {
        if (s[i] < 128) return AsciiKinds[s[i]];
        if (Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out _) != System.Buffers.OperationStatus.Done) return Kind.Other;
        if (Rune.IsWhiteSpace(rune)) return Kind.Space;
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
                return Kind.Letter;
            case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                return Kind.Number;
            default:
                return Kind.Other;
        }
    }
}
