namespace OlmoeSharp.Constraints;

/// <summary>
/// A state of the byte-level parser: the set of stacks the bytes so far can be parsed into (more than one where the
/// grammar is ambiguous), each with a byte class on top, and whether the text so far is a complete document.
/// States are interned by <see cref="ParserAutomaton"/> and carry its caches: the state each byte leads to, and the
/// token mask computed here.
/// </summary>
internal sealed class ParserState(StackNode[] tops, bool accepting)
{
    /// <summary>The top frames, ordered by id.</summary>
    public StackNode[] Tops { get; } = tops;

    /// <summary>The text so far is a complete document.</summary>
    public bool Accepting { get; } = accepting;

    /// <summary>Complete, and no byte may follow.</summary>
    public bool IsClosed => Accepting && Tops.Length == 0;

    /// <summary>No stack survives: the text so far is no prefix of the language.</summary>
    public bool IsDead => !Accepting && Tops.Length == 0;

    /// <summary>
    /// At least as many tokens as end the generation from here, when every byte has a one-byte token (quick to know,
    /// often far above the truth): none when closed, the end-of-text token when complete, else the fewest bytes to a
    /// complete document and then end-of-text. <see cref="TokenMasker.TokensToFinish"/> is the tighter count.
    /// </summary>
    public int TokensToFinish { get; } = tops.Length == 0 ? (accepting ? 0 : Grammar.Unreachable) : accepting ? 1 : tops.Min(t => t.MinBytes) + 1;

    /// <summary>Tokens that complete the document from here (a shortest completion, tokenized greedily); null until needed.</summary>
    public int[]? Plan { get; set; }

    /// <summary>Where each byte leads (null: not computed yet); filled by <see cref="ParserAutomaton.Step"/>.</summary>
    public ParserState?[]? Next { get; set; }

    /// <summary>Allowed tokens here (bit per id), ignoring the token budget; filled and bounded by <see cref="TokenMasker"/>.</summary>
    public ulong[]? Mask { get; set; }

    /// <summary>The most <see cref="TokensToFinish"/> of the states the tokens in <see cref="Mask"/> lead to.</summary>
    public int MaskMaxTokensToFinish { get; set; }
}
