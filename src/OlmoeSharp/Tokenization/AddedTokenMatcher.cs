namespace OlmoeSharp.Tokenization;

/// <summary>
/// Finds added tokens in text before BPE runs, leftmost-longest as the reference does: at each position the longest
/// added token starting there wins (so 24 spaces beat 2), and the earliest position wins over later ones.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;
    private readonly bool[] _isFirstAscii = new bool[128];
    private readonly System.Buffers.SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        foreach (char c in _byFirstChar.Keys)
            if (c < 128) _isFirstAscii[c] = true;
        _firstChars = System.Buffers.SearchValues.Create([.. _byFirstChar.Keys]);
    }

    /// <summary>Calls <paramref name="onText"/> for each run of ordinary text and <paramref name="onToken"/> for each added token, in order.</summary>
    public void Split(string text, Action<int, int> onText, Action<AddedToken> onToken)
    {
        int textStart = 0;
        for (int i = 0; i < text.Length;)
        {
            // Jump (vectorised) to the next character that can start an added token.
            int next = text.AsSpan(i).IndexOfAny(_firstChars);
            if (next < 0) break;
            i += next;
            var match = MatchAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            if (i > textStart) onText(textStart, i - textStart);
            onToken(match);
            i += match.Content.Length;
            textStart = i;
        }
        if (textStart < text.Length) onText(textStart, text.Length - textStart);
    }

    private AddedToken? MatchAt(string text, int i)
    {
        char first = text[i];
        // Most characters start no added token: answer those without a dictionary lookup.
        if (first < 128 ? !_isFirstAscii[first] : !_byFirstChar.ContainsKey(first)) return null;
        var rest = text.AsSpan(i);
        foreach (var token in _byFirstChar[first])
        {
            string content = token.Content;
            // Comparing the second character first rejects most candidates (a lone space against the space runs) cheaply.
            if (content.Length <= rest.Length && (content.Length == 1 || rest[1] == content[1]) && rest.StartsWith(content, StringComparison.Ordinal))
                return token;
        }
        return null;
    }
}
