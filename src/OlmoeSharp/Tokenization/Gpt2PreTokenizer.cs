using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Splits text into the words BPE works on, exactly as the GPT-2 regex of the reference ByteLevel pre-tokenizer:
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>.
/// </summary>
/// <remarks>
/// Hand-written rather than a .NET Regex: .NET classifies UTF-16 units, so a letter outside the BMP (a surrogate
/// pair such as U+1D400) would not match <c>\p{L}</c>, and the classes here are pinned to the reference's Unicode
/// version (<see cref="UnicodeTables.CharacterClassUnicodeVersion"/>) instead of following the runtime's. It is also
/// several times faster.
/// </remarks>
internal static class Gpt2PreTokenizer
{
    private static readonly CharClass[] AsciiClasses =
        Enumerable.Range(0, 128).Select(UnicodeProperties.GetClass).ToArray();

    /// <summary>The length in UTF-16 units of the word that starts <paramref name="text"/> (non-empty).</summary>
    public static int NextWordLength(ReadOnlySpan<char> text)
    {
        char first = text[0];
        if (first == '\'' && text.Length >= 2)
        {
            int contraction = ContractionLength(text);
            if (contraction > 0) return contraction;
        }
        var firstClass = Classify(text, 0, out int firstLength);
        if (first == ' ' && text.Length > 1)
        {
            // " ?X+": a single space joins the letter, number or other run that follows it.
            var nextClass = Classify(text, 1, out _);
            if (nextClass != CharClass.Space) return 1 + RunLength(text[1..], nextClass);
        }
        if (firstClass != CharClass.Space) return firstLength + RunLength(text[firstLength..], firstClass);

        // "\s+(?!\S)|\s+": a white-space run, leaving its last character to the word that follows it, unless the
        // run is a single character or ends the text. White_Space characters are all in the BMP.
        int run = RunLength(text, CharClass.Space);
        return run == text.Length || run == 1 ? run : run - 1;
    }

    private static int ContractionLength(ReadOnlySpan<char> text)
    {
        switch (text[1])
        {
            case 's' or 't' or 'm' or 'd':
                return 2;
            case 'r' or 'v' when text.Length >= 3 && text[2] == 'e':
            case 'l' when text.Length >= 3 && text[2] == 'l':
                return 3;
            default:
                return 0;
        }
    }

    /// <summary>The length of the run of <paramref name="charClass"/> characters at the start of <paramref name="text"/>.</summary>
    private static int RunLength(ReadOnlySpan<char> text, CharClass charClass)
    {
        int i = 0;
        while (i < text.Length && Classify(text, i, out int length) == charClass) i += length;
        return i;
    }

    private static CharClass Classify(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        length = 1;
        if (c < 0x80) return AsciiClasses[c];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            length = 2;
            return UnicodeProperties.GetClass(char.ConvertToUtf32(c, text[index + 1]));
        }
        return UnicodeProperties.GetClass(c);
    }
}
