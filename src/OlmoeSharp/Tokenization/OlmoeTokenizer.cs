using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// OLMoE's tokenizer (GPT-NeoX-style byte-level BPE) loaded from a Hugging Face tokenizer.json, giving the same ids
/// and text as the reference Rust library: added tokens (including special-token text typed by a user) are matched
/// first, the rest is NFC-normalised, split GPT-2 style and BPE-encoded. No BOS or EOS is added. Thread-safe.
/// </summary>
public sealed class OlmoeTokenizer
{
    private const string EndOfTextContent = "<|endoftext|>";
    private const string PaddingContent = "<|padding|>";

    private readonly BytePairEncoder _bpe;
    private readonly AddedTokenMatcher _addedMatcher;
    private readonly string?[] _idToToken;
    private readonly bool[] _isSpecial;
    private readonly bool _normalizeNfc;

    private OlmoeTokenizer(TokenizerDefinition definition)
    {
        _bpe = new BytePairEncoder(definition.Vocab, definition.Merges);
        _addedMatcher = new AddedTokenMatcher(definition.AddedTokens);
        _normalizeNfc = definition.NormalizeNfc;
        int size = Math.Max(definition.Vocab.Values.Max(), definition.AddedTokens.Select(t => t.Id).DefaultIfEmpty(-1).Max()) + 1;
        _idToToken = new string?[size];
        _isSpecial = new bool[size];
        foreach (var (token, id) in definition.Vocab) _idToToken[id] = token;
        foreach (var token in definition.AddedTokens)
        {
            _idToToken[token.Id] = token.Content;
            _isSpecial[token.Id] = token.Special;
        }
        VocabularySize = size;
        EndOfTextId = definition.AddedTokens.FirstOrDefault(t => t.Content == EndOfTextContent)?.Id ?? -1;
        PaddingId = definition.AddedTokens.FirstOrDefault(t => t.Content == PaddingContent)?.Id ?? -1;
    }

    /// <summary>Number of token ids (50280 for OLMoE; the model's extra embedding rows have no token).</summary>
    public int VocabularySize { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (50279 for OLMoE), or -1 if the file has none.</summary>
    public int EndOfTextId { get; }

    /// <summary>Id of <c>&lt;|padding|&gt;</c> (1 for OLMoE), or -1 if the file has none.</summary>
    public int PaddingId { get; }

    /// <summary>Loads a tokenizer.json file, or the tokenizer.json inside a model folder.</summary>
    /// <exception cref="ModelFormatException">The file is malformed or uses features this tokenizer does not implement.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static OlmoeTokenizer Load(string fileOrDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileOrDirectory);
        string path = Directory.Exists(fileOrDirectory) ? Path.Combine(fileOrDirectory, "tokenizer.json") : fileOrDirectory;
        return new OlmoeTokenizer(TokenizerDefinition.Load(path));
    }

    /// <summary>True for tokens that "skip special tokens" drops when decoding (padding and end-of-text).</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_isSpecial.Length && _isSpecial[id];

    /// <summary>The token's string as stored (byte-level alphabet for BPE tokens), or null for an id with no token.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>Token ids of <paramref name="text"/>. Lone UTF-16 surrogates are encoded as U+FFFD.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text);
        var ids = new List<int>(text.Length / 3 + 4);
        _addedMatcher.Split(text,
            (start, length) =>
            {
                string segment = text.Substring(start, length);
                if (_normalizeNfc) segment = NfcNormalizer.Normalize(segment);
                Gpt2PreTokenizer.Split(segment, (s, l) => _bpe.Encode(segment.AsSpan(s, l), ids));
            },
            token => ids.Add(token.Id));
        return [.. ids];
    }

    /// <summary>
    /// Text of <paramref name="ids"/>. Ids with no token (OLMoE's 50280–50303) give nothing; byte sequences that are
    /// not valid UTF-8 give U+FFFD, as the reference does.
    /// </summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="skipSpecialTokens">Drop the special tokens (padding and end-of-text; the space-run tokens stay).</param>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids) AppendBytes(id, skipSpecialTokens, bytes);
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>A decoder that turns ids into text one at a time, for streaming generation.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    internal void AppendBytes(int id, bool skipSpecialTokens, List<byte> output)
    {
        if (IdToToken(id) is not { } token || (skipSpecialTokens && _isSpecial[id])) return;
        ByteLevelAlphabet.AppendBytes(token, output);
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF')) return text;
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return builder.ToString();
    }
}
