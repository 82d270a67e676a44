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
    private readonly Grammar _grammar;
    private readonly ParserAutomaton _automaton;
    private readonly ParserState[] _path;
    private readonly object _gate = new();

    public TokenMasker(Grammar grammar, TokenTrie trie)
    {
        Trie = trie;
        _grammar = grammar;
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
    /// Tokens that end the generation from <paramref name="state"/>: none when nothing may follow, end-of-text when
    /// the document is complete, else the tokens of <see cref="Plan"/> and end-of-text (null plan: unreachable).
    /// </summary>
    public int TokensToFinish(ParserState state)
    {
        if (state.Tops.Length == 0 || state.Accepting) return state.TokensToFinish;
        lock (_gate) return Plan(state) is { } plan ? plan.Length + 1 : Grammar.Unreachable;
    }

    /// <summary>
    /// Tokens that complete the document from <paramref name="state"/> (not complete yet): a shortest completion in
    /// bytes, cut greedily into the longest tokens. Null when the vocabulary cannot spell it.
    /// </summary>
    public int[]? ForcedCompletion(ParserState state)
    {
        lock (_gate) return Plan(state);
    }

    private int[]? Plan(ParserState state)
    {
        if (state.Plan is { } known) return known.Length == 0 && !state.Accepting ? null : known;
        var bytes = new List<byte>();
        for (var node = state.Tops.MinBy(t => t.MinBytes); node is not null; node = node.Parent) _grammar.AppendShortest(node.Position, bytes);
        var text = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        var tokens = new List<int>();
        for (int at = 0; at < text.Length;)
        {
            int id = Trie.LongestTokenAtStart(text[at..], out int length);
            if (id < 0)
            {
                state.Plan = [];
                return null;
            }
            tokens.Add(id);
            at += length;
        }
        return state.Plan = [.. tokens];
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
            // The quick bound admits most tokens; the tighter count is computed only where it does not (near the limit).
            if (tokenCount[node] > 0 && (next.TokensToFinish <= tokensAfter
                || (tokensAfter != int.MaxValue && !next.Accepting && Plan(next) is { } plan && plan.Length + 1 <= tokensAfter)))
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
