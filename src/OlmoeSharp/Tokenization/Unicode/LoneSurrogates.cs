namespace OlmoeSharp.Tokenization.Unicode;

/// <summary>
/// .NET strings may hold unpaired UTF-16 surrogates, which have no UTF-8 form (the reference, working on Rust
/// strings, can never see one). The tokenizer replaces each with U+FFFD, as a UTF-8 encoder would.
/// </summary>
internal static class LoneSurrogates
{
    /// <summary>Returns <paramref name="text"/> with lone surrogates replaced by U+FFFD, or null when it has none.</summary>
    public static string? ReplaceOrNull(ReadOnlySpan<char> text)
    {
        int first = FindLone(text, 0);
        if (first < 0) return null;
        var copy = text.ToArray();
        for (int i = first; i >= 0; i = FindLone(copy, i + 1)) copy[i] = '\uFFFD';
        return new string(copy);
    }

    private static int FindLone(ReadOnlySpan<char> text, int from)
    {
        while (from < text.Length)
        {
            int found = text[from..].IndexOfAnyInRange('\uD800', '\uDFFF');
            if (found < 0) return -1;
            int i = from + found;
            if (!char.IsHighSurrogate(text[i]) || i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1])) return i;
            from = i + 2;
        }
        return -1;
    }
}
