namespace OlmoeSharp.Constraints;

/// <summary>
/// Computes which tokens may follow a parser state: walks the token trie depth-first, stepping the automaton one
/// byte per node and skipping a whole subtree as soon as its prefix is impossible. The mask of a state is cached on
/// the state (a document revisits the same states: every character of a free string is one state), so a masked
/// step usually costs a lookup. One masker serves every generation of a grammar with a vocabulary, behind a lock.
/// </summary>
internal sealed class TokenMasker
{
    /// <summary>Masks kept at most (6.3 KB each on OLMoE's vocabulary); past it the cache starts over.</summary>
    private const int MaskLimit = 4096;

    private readonly List<ParserState> _masked = [];
    private readonly ParserAutomaton _automaton;
    private readonly ParserState[] _path;
    private readonly object _gate = new();

    public TokenMasker(Grammar grammar, TokenTrie trie)
    {
        Trie = trie;
        _automaton = new ParserAutomaton(grammar);
        _path = new ParserState[trie.MaxDepth + 1];
    }

    public TokenTrie Trie { get; }

    /// <summary>64-bit words in a mask.</summary>
    public int MaskWords => (Trie.VocabularySize + 63) / 64;

    public ParserState Initial => _automaton.Initial;

    /// <summary>The state after the bytes of <paramref name="tokenId"/> (dead when they cannot follow).</summary>
    public ParserState Advance(ParserState state, int tokenId)
    {
        var bytes = (uint)tokenId < (uint)Trie.VocabularySize ? Trie.TokenBytes[tokenId] : [];
        lock (_gate)
        {
            foreach (byte b in bytes)
            {
                state = _automaton.Step(state, b);
                if (state.IsDead) break;
            }
            return bytes.Length == 0 ? _automaton.Dead : state;
        }
    }

    /// <summary>
    /// The tokens allowed in <paramref name="state"/> that leave a document which can still end within
    /// <paramref name="tokensAfter"/> more tokens: the cached mask when the budget does not bite, else a fresh walk
    /// into <paramref name="scratch"/>.
    /// </summary>
    public ReadOnlySpan<ulong> Allowed(ParserState state, int tokensAfter, ulong[] scratch)
    {
        lock (_gate)
        {
            if (state.Mask is null)
            {
                var mask = new ulong[MaskWords];
                state.MaskMaxTokensToFinish = Walk(state, int.MaxValue, mask);
                if (_masked.Count >= MaskLimit)
                {
                    foreach (var old in _masked) old.Mask = null;
                    _masked.Clear();
                }
                state.Mask = mask;
                _masked.Add(state);
            }
            if (state.MaskMaxTokensToFinish <= tokensAfter) return state.Mask;
            Array.Clear(scratch);
            Walk(state, tokensAfter, scratch);
            return scratch;
        }
    }

    /// <summary>Sets the bits of the allowed tokens; returns the most tokens-to-finish among the states they lead to.</summary>
    private int Walk(ParserState state, int tokensAfter, ulong[] mask)
    {
        var trie = Trie;
        var nodeByte = trie.NodeByte;
        var nodeDepth = trie.NodeDepth;
        var subtreeEnd = trie.SubtreeEnd;
        var tokenStart = trie.TokenStart;
        var tokenCount = trie.TokenCount;
        var ids = trie.SortedIds;
        var dead = _automaton.Dead;
        var path = _path;
        path[0] = state;
        int most = 0;
        for (int node = 0; node < nodeByte.Length;)
        {
            int depth = nodeDepth[node];
            var next = _automaton.Step(path[depth - 1], nodeByte[node]);
            if (ReferenceEquals(next, dead))
            {
                node = subtreeEnd[node];
                continue;
            }
            path[depth] = next;
            if (tokenCount[node] > 0 && next.TokensToFinish <= tokensAfter)
            {
                most = Math.Max(most, next.TokensToFinish);
                for (int k = tokenStart[node], end = k + tokenCount[node]; k < end; k++)
                    mask[ids[k] >> 6] |= 1UL << (ids[k] & 63);
            }
            node++;
        }
        return most;
    }
}
