namespace OlmoeSharp.Tokenization;

/// <summary>What a validated tokenizer.json holds, in the form the tokenizer is built from.</summary>
/// <param name="Tokens">Every token string, indexed by id (ids are 0..Count-1 without gaps).</param>
/// <param name="Merges">The BPE merge rules in rank order, as token ids.</param>
/// <param name="AddedTokens">Tokens matched in the text before BPE (all are also in <paramref name="Tokens"/>).</param>
/// <param name="NormalizeNfc">True when the file's normalizer is NFC, false when it has none.</param>
internal sealed record TokenizerDefinition(
    string[] Tokens,
    IReadOnlyList<(int Left, int Right, int Merged)> Merges,
    IReadOnlyList<AddedTokenDefinition> AddedTokens,
    bool NormalizeNfc);

/// <summary>One entry of tokenizer.json's <c>added_tokens</c>.</summary>
/// <param name="Id">The token id.</param>
/// <param name="Content">The exact text matched.</param>
/// <param name="Special">Special tokens are dropped by a decode that skips special tokens.</param>
/// <param name="Normalized">True when matched in the normalized text; false when matched in the raw input.</param>
internal sealed record AddedTokenDefinition(int Id, string Content, bool Special, bool Normalized);
