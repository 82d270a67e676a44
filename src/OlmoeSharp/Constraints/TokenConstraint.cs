namespace OlmoeSharp.Constraints;

/// <summary>
/// One generation's position in a grammar: masks the logits of tokens that cannot continue the document (and of
/// end-of-text until the document is complete), follows each chosen token, and says when the document is finished.
/// The mask also keeps the document finishable within the tokens left, so a generation that reaches its token
/// limit ends with a complete document. Not thread-safe: one per generation.
/// </summary>
internal sealed class TokenConstraint
{
    private readonly TokenMasker _masker;
    private readonly int[] _endOfText;
    private readonly ulong[] _scratch;
    private ParserState _state;

    public TokenConstraint(TokenMasker masker, IEnumerable<int> endOfText)
    {
        _masker = masker;
        _endOfText = [.. endOfText];
        _scratch = new ulong[masker.MaskWords];
        _state = masker.Initial;
    }

    /// <summary>The document is complete and nothing may follow it.</summary>
    public bool IsComplete => _state.IsClosed;

    /// <summary>The document so far is complete (more may follow, or end-of-text).</summary>
    public bool IsAccepting => _state.Accepting;

    /// <summary>The fewest tokens that finish the generation from the start (a budget below it cannot produce a document).</summary>
    public int TokensToFinish => _state.TokensToFinish;

    /// <summary>
    /// Sets the logits of the tokens that may not come next to −∞. <paramref name="tokensLeft"/> counts this token too:
    /// every token allowed leaves a document that can end in the tokens after it.
    /// </summary>
    public void Mask(Span<float> logits, int tokensLeft)
    {
        var allowed = _masker.Allowed(_state, tokensLeft - 1, _scratch);
        Span<float> endOfText = stackalloc float[_endOfText.Length];
        for (int i = 0; i < _endOfText.Length; i++) endOfText[i] = (uint)_endOfText[i] < (uint)logits.Length ? logits[_endOfText[i]] : 0;

        int known = Math.Min(logits.Length, _masker.Trie.VocabularySize);
        for (int word = 0; word * 64 < known; word++)
        {
            ulong bits = allowed[word];
            if (bits == ulong.MaxValue) continue;
            for (int id = word * 64, end = Math.Min(id + 64, known); id < end; id++, bits >>= 1)
                if ((bits & 1) == 0) logits[id] = float.NegativeInfinity;
        }
        logits[known..].Fill(float.NegativeInfinity);

        if (!_state.Accepting) return;
        for (int i = 0; i < _endOfText.Length; i++)
            if ((uint)_endOfText[i] < (uint)logits.Length) logits[_endOfText[i]] = endOfText[i];
    }

    /// <summary>Follows <paramref name="tokenId"/>, which must be one the mask allowed.</summary>
    /// <exception cref="InvalidOperationException">The token cannot continue the document.</exception>
    public void Advance(int tokenId)
    {
        var next = _masker.Advance(_state, tokenId);
        if (next.IsDead) throw new InvalidOperationException($"token {tokenId} cannot continue the document; it was not allowed by the response format.");
        _state = next;
    }
}
