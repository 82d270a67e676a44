namespace OlmoeSharp.Constraints;

/// <summary>
/// One generation's position in a grammar: masks the logits of tokens that cannot continue the document (and of
/// end-of-text until the document is complete), follows each chosen token, and says when the document is finished.
/// The mask also keeps the document finishable within the tokens left, so a generation that reaches its token
/// limit ends with a complete document: it allows only tokens after which the document can still be completed in
/// the tokens that remain, and when the estimate of that leaves none, it follows the completion the estimate was
/// made of, token by token. Not thread-safe: one per generation.
/// </summary>
internal sealed class TokenConstraint
{
    private readonly TokenMasker _masker;
    private readonly int[] _endOfText;
    private readonly ulong[] _scratch;
    private ParserState _state;

    // The completion being followed once the token limit leaves no choice, and how far along it is.
    private int[]? _forced;
    private int _forcedNext;

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

    /// <summary>Tokens enough to finish the generation from here (a budget below it may not produce a document).</summary>
    public int TokensToFinish => _masker.TokensToFinish(_state);

    /// <summary>
    /// Sets the logits of the tokens that may not come next to −∞. <paramref name="tokensLeft"/> counts this token too:
    /// every token allowed leaves a document that can end in the tokens after it.
    /// </summary>
    public void Mask(Span<float> logits, int tokensLeft)
    {
        ReadOnlySpan<ulong> allowed = default;
        if (_forced is null)
        {
            allowed = _masker.Allowed(_state, tokensLeft - 1, _scratch);
            if (!_state.Accepting && !allowed.ContainsAnyExcept(0UL)) (_forced, _forcedNext) = (_masker.ForcedCompletion(_state), 0);
        }
        if (_forced is not null)
        {
            int only = _forced[_forcedNext];
            float kept = logits[only];
            logits.Fill(float.NegativeInfinity);
            logits[only] = kept;
            return;
        }

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
        if (_forced is not null && (_forced[_forcedNext] != tokenId || ++_forcedNext == _forced.Length)) _forced = null;
    }
}
