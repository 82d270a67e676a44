using System.Buffers;
using System.Text;
using Microsoft.ML.Tokenizers;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// The OLMoE tokenizer (GPT-NeoX-style byte-level BPE, loaded from a Hugging Face tokenizer.json), producing
/// exactly the ids and text of the reference Rust tokenizers library.
/// </summary>
/// <remarks>
/// Encoding runs the reference pipeline: special tokens (<c>&lt;|endoftext|&gt;</c>, <c>&lt;|padding|&gt;</c>) are cut
/// out of the raw text, the rest is NFC-normalized, the other added tokens (space runs, PII placeholders) are cut
/// out, and what remains is split by the GPT-2 regex and BPE-encoded. No BOS or EOS is added. Instances are
/// immutable and safe to use from several threads at once.
/// <para>
/// It is a Microsoft.ML.Tokenizers <see cref="Tokenizer"/>, so it goes wherever .NET code takes one (text chunkers,
/// token counting for prompts); <c>EncodeToIds</c>, <c>EncodeToTokens</c>, <c>CountTokens</c>,
/// <c>GetIndexByTokenCount</c>, <c>GetIndexByTokenCountFromEnd</c> and <c>Decode</c> run this same pipeline.
/// Offsets and indices are in the text as given, also where NFC changes it (the <c>normalizedText</c> they return
/// is always null); a character whose UTF-8 bytes BPE splits between tokens belongs to the token that completes it.
/// <c>GetIndexByTokenCount</c> cuts only where the part kept encodes on its own to exactly the tokens counted, the
/// first (or last) ones of the whole text. <c>considerNormalization: false</c> skips NFC;
/// <c>considerPreTokenization: false</c> skips special and added tokens and the word split, encoding the text as
/// one BPE sequence. <c>Decode</c> keeps special tokens.
/// </para>
/// </remarks>
public sealed partial class OlmoeTokenizer : Tokenizer
{
    /// <summary>The file name looked for in a model folder.</summary>
    public const string FileName = "tokenizer.json";

    private const string EndOfTextContent = "<|endoftext|>";
    private const string PaddingContent = "<|padding|>";

    private readonly BytePairEncoder _encoder;
    private readonly AddedTokenMatcher _rawTextTokens;
    private readonly AddedTokenMatcher _normalizedTextTokens;
    private readonly bool _normalizeNfc;
    private readonly TokenByteTable _tokenBytes;
    private readonly bool[] _special;
    private readonly string[] _tokens;

    private OlmoeTokenizer(string path, TokenizerDefinition definition)
    {
        var tokens = definition.Tokens;
        VocabularySize = tokens.Length;
        _normalizeNfc = definition.NormalizeNfc;
        _tokenBytes = new TokenByteTable(tokens);
        _tokens = tokens;

        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++) ids[tokens[id]] = id;
        var byteSymbols = new int[256];
        for (int b = 0; b < 256; b++)
            byteSymbols[b] = ids.GetValueOrDefault(ByteLevelAlphabet.ToChar((byte)b).ToString(), -1);
        _encoder = new BytePairEncoder(byteSymbols, definition.Merges);

        _special = new bool[tokens.Length];
        foreach (var token in definition.AddedTokens) _special[token.Id] = token.Special;

        // Tokens marked "normalized" are looked for in the normalized text, so their own text is normalized too.
        _rawTextTokens = new AddedTokenMatcher(
            definition.AddedTokens.Where(t => !t.Normalized).Select(t => (t.Content, t.Id)));
        var normalizedTextTokens = definition.AddedTokens.Where(t => t.Normalized)
            .Select(t => (Content: _normalizeNfc ? Nfc.Normalize(t.Content) : t.Content, t.Id)).ToArray();
        _normalizedTextTokens = new AddedTokenMatcher(normalizedTextTokens);
        AddedTokensSpanLetterSpace = normalizedTextTokens.Any(t => ContainsLetterSpace(t.Content));

        EndOfTextId = ids.TryGetValue(EndOfTextContent, out int eos)
            ? eos
            : throw new ModelFormatException(path, $"the vocabulary has no {EndOfTextContent} token", "model.vocab");
        PaddingId = ids.TryGetValue(PaddingContent, out int padding)
            ? padding
            : throw new ModelFormatException(path, $"the vocabulary has no {PaddingContent} token", "model.vocab");
        _normalizer = _normalizeNfc ? new PipelineNormalizer(this) : null;
        _preTokenizer = new PipelinePreTokenizer(this);
    }

    /// <summary>The number of token ids (50,280 for OLMoE; the model's 50,304 embedding rows include unused padding rows).</summary>
    public int VocabularySize { get; }

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> (50279): the end-of-sequence token, where generation stops.</summary>
    public int EndOfTextId { get; }

    /// <summary>The id of <c>&lt;|padding|&gt;</c> (1).</summary>
    public int PaddingId { get; }

    /// <summary>
    /// Loads the tokenizer from a tokenizer.json file, a model folder holding one, or a GGUF file (by its .gguf name).
    /// </summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable, malformed or describes an unsupported tokenizer.</exception>
    public static OlmoeTokenizer Load(string pathOrDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrDirectory);
        if (Directory.Exists(pathOrDirectory)) return FromDirectory(pathOrDirectory);
        return pathOrDirectory.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? FromGguf(pathOrDirectory) : FromFile(pathOrDirectory);
    }

    /// <summary>Loads the tokenizer from a Hugging Face tokenizer.json file.</summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable, malformed or describes an unsupported tokenizer.</exception>
    public static OlmoeTokenizer FromFile(string tokenizerJsonPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenizerJsonPath);
        return new OlmoeTokenizer(tokenizerJsonPath, TokenizerJsonReader.Read(tokenizerJsonPath));
    }

    /// <summary>Loads the tokenizer a GGUF file carries (<c>tokenizer.ggml.*</c>, as llama.cpp writes OLMoE's).</summary>
    /// <exception cref="ModelFormatException">The file is not a valid GGUF file, or its tokenizer is missing, malformed or not OLMoE's kind.</exception>
    public static OlmoeTokenizer FromGguf(string ggufPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(ggufPath);
        using var file = Loading.Gguf.GgufFile.Open(ggufPath);
        return FromGguf(file);
    }

    /// <summary>The tokenizer of an open GGUF file.</summary>
    internal static OlmoeTokenizer FromGguf(Loading.Gguf.GgufFile file) => new(file.FilePath, GgufTokenizerReader.Read(file));

    /// <summary>Loads the tokenizer from the tokenizer.json in a model folder.</summary>
    /// <exception cref="ModelFormatException">The file is missing, unreadable, malformed or describes an unsupported tokenizer.</exception>
    public static OlmoeTokenizer FromDirectory(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        return FromFile(Path.Combine(modelDirectory, FileName));
    }

    /// <summary>True for the special tokens (<c>&lt;|padding|&gt;</c> and <c>&lt;|endoftext|&gt;</c>), which a decode may skip.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_special.Length && _special[id];

    /// <summary>Encodes <paramref name="text"/> into token ids, adding no BOS or EOS.</summary>
    /// <remarks>
    /// Special-token text in the input (such as <c>&lt;|endoftext|&gt;</c>) becomes the special token, as in the
    /// reference's default encode. Unpaired UTF-16 surrogates are encoded as U+FFFD.
    /// </remarks>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids);
        return ids;
    }

    /// <summary>Encodes <paramref name="text"/> and appends the ids to <paramref name="destination"/>.</summary>
    /// <inheritdoc cref="Encode(string)" path="/remarks"/>
    public void Encode(ReadOnlySpan<char> text, List<int> destination) =>
        Encode(text, destination, normalize: true, preTokenize: true);

    /// <summary>The BPE model.</summary>
    internal BytePairEncoder Encoder => _encoder;

    /// <summary>The special tokens, matched in the raw text.</summary>
    internal AddedTokenMatcher RawTextTokens => _rawTextTokens;

    /// <summary>The other added tokens, matched in the normalized text.</summary>
    internal AddedTokenMatcher NormalizedTextTokens => _normalizedTextTokens;

    /// <summary>True when the tokenizer NFC-normalizes its input (tokenizer.json's normalizer).</summary>
    internal bool NormalizesNfc => _normalizeNfc;

    /// <summary>The bytes each id decodes to.</summary>
    internal TokenByteTable TokenBytes => _tokenBytes;

    /// <summary>True when some added token matched in the normalized text holds an ASCII letter followed by a space.</summary>
    internal bool AddedTokensSpanLetterSpace { get; }

    /// <summary>Decodes token ids into text.</summary>
    /// <param name="ids">The ids; ids without a token (negative, or the model's padding rows 50280..) decode to nothing.</param>
    /// <param name="skipSpecialTokens">Drop the special tokens (<see cref="IsSpecial"/>); other added tokens such as space runs stay.</param>
    /// <returns>The text; byte sequences that are not valid UTF-8 become U+FFFD as in Rust's <c>String::from_utf8_lossy</c>.</returns>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        int byteCount = 0;
        foreach (int id in ids)
        {
            if (!(skipSpecialTokens && IsSpecial(id))) byteCount += _tokenBytes[id].Length;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            int written = 0;
            foreach (int id in ids)
            {
                if (!(skipSpecialTokens && IsSpecial(id)))
                {
                    var bytes = _tokenBytes[id];
                    bytes.CopyTo(buffer.AsSpan(written));
                    written += bytes.Length;
                }
            }
            return Encoding.UTF8.GetString(buffer, 0, written);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The bytes token <paramref name="id"/> decodes to: UTF-8 that may start or end inside a character (which
    /// <see cref="Decode(ReadOnlySpan{int}, bool)"/> of the token alone shows as U+FFFD); empty for an id with no token.
    /// </summary>
    public ReadOnlySpan<byte> GetTokenBytes(int id) => _tokenBytes[id];

    /// <summary>Creates a decoder for ids arriving one at a time (generation), which yields only complete characters.</summary>
    /// <param name="skipSpecialTokens">Drop the special tokens, as in <see cref="Decode(ReadOnlySpan{int}, bool)"/>.</param>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = false) =>
        new(this, _tokenBytes, skipSpecialTokens);

    /// <summary>
    /// The whole pipeline, with NFC off when <paramref name="normalize"/> is false, and with neither added tokens nor
    /// words (the text BPE-encoded as one sequence) when <paramref name="preTokenize"/> is false.
    /// </summary>
    private void Encode(ReadOnlySpan<char> text, List<int> destination, bool normalize, bool preTokenize)
    {
        ArgumentNullException.ThrowIfNull(destination);
        string? sanitized = LoneSurrogates.ReplaceOrNull(text);
        if (sanitized is not null) text = sanitized;
        normalize &= _normalizeNfc;
        if (!preTokenize)
        {
            if (text.IsEmpty) return;
            string? normalized = normalize ? Nfc.NormalizeOrNull(text) : null;
            _encoder.Encode(normalized is null ? text : normalized, destination);
            return;
        }
        while (!text.IsEmpty)
        {
            if (!_rawTextTokens.TryFindNext(text, out int index, out int length, out int id))
            {
                EncodeNormalizing(text, destination, normalize);
                return;
            }
            EncodeNormalizing(text[..index], destination, normalize);
            destination.Add(id);
            text = text[(index + length)..];
        }
    }

    private void EncodeNormalizing(ReadOnlySpan<char> text, List<int> destination, bool normalize)
    {
        if (text.IsEmpty) return;
        string? normalized = normalize ? Nfc.NormalizeOrNull(text) : null;
        if (normalized is not null) text = normalized;
        while (!text.IsEmpty)
        {
            if (!_normalizedTextTokens.TryFindNext(text, out int index, out int length, out int id))
            {
                EncodeWords(text, destination);
                return;
            }
            EncodeWords(text[..index], destination);
            destination.Add(id);
            text = text[(index + length)..];
        }
    }

    private static bool ContainsLetterSpace(string text)
    {
        for (int i = 1; i < text.Length; i++)
        {
            if (text[i] == ' ' && char.IsAsciiLetter(text[i - 1])) return true;
        }
        return false;
    }

    private void EncodeWords(ReadOnlySpan<char> text, List<int> destination)
    {
        while (!text.IsEmpty)
        {
            int length = Gpt2PreTokenizer.NextWordLength(text);
            _encoder.Encode(text[..length], destination);
            text = text[length..];
        }
    }
}
