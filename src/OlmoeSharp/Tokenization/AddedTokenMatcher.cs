using System.Buffers;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Finds added tokens in text the way the reference does before BPE runs: non-overlapping, leftmost first, and
/// the longest token at that position (Aho-Corasick "leftmost-longest"). A vectorized multi-string search finds
/// the leftmost position where some token occurs; a small trie then picks the longest token there.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly SearchValues<string>? _tokens;
    private readonly Dictionary<(int Node, char Char), int> _edges = [];
    private readonly List<int> _tokenAtNode = [-1];

    /// <summary>Builds a matcher for <paramref name="tokens"/> (content, id); contents must be non-empty.</summary>
    public AddedTokenMatcher(IEnumerable<(string Content, int Id)> tokens)
    {
        var contents = new List<string>();
        foreach (var (content, id) in tokens)
        {
            contents.Add(content);
            int node = 0;
            foreach (char c in content)
            {
                if (!_edges.TryGetValue((node, c), out int child))
                {
                    child = _tokenAtNode.Count;
                    _tokenAtNode.Add(-1);
                    _edges.Add((node, c), child);
                }
                node = child;
            }
            _tokenAtNode[node] = id;
        }
        _tokens = contents.Count == 0 ? null : SearchValues.Create(contents.ToArray(), StringComparison.Ordinal);
    }

    /// <summary>Finds the first added token in <paramref name="text"/>; false when there is none.</summary>
    public bool TryFindNext(ReadOnlySpan<char> text, out int index, out int length, out int tokenId)
    {
        index = _tokens is null ? -1 : text.IndexOfAny(_tokens);
        if (index < 0)
        {
            length = 0;
            tokenId = -1;
            return false;
        }
        length = LongestMatchAt(text[index..], out tokenId);
        return true;
    }

    private int LongestMatchAt(ReadOnlySpan<char> text, out int tokenId)
    {
        tokenId = -1;
        int best = 0;
        int node = 0;
        for (int i = 0; i < text.Length && _edges.TryGetValue((node, text[i]), out node); i++)
        {
            if (_tokenAtNode[node] >= 0)
            {
                tokenId = _tokenAtNode[node];
                best = i + 1;
            }
        }
        return best;
    }
}
