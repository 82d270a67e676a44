using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Tokenizers;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tokenization;

// The members of Microsoft.ML.Tokenizers' Tokenizer that all its public overloads go through.
public sealed partial class OlmoeTokenizer
{
    private readonly Normalizer? _normalizer;
    private readonly PreTokenizer _preTokenizer;

    /// <summary>
    /// The normalization encoding applies (null when the file has none): lone surrogates become U+FFFD, special
    /// tokens stay as they are, and the text between them is NFC-normalized. (Without pre-tokenization, special
    /// tokens are not looked for, and the whole text is NFC-normalized.)
    /// </summary>
    public override Normalizer? Normalizer => _normalizer;

    /// <summary>
    /// Splits normalized text (what <see cref="Normalizer"/> returns) into the pieces BPE encodes one by one: special
    /// and added tokens, and the words of the GPT-2 regex between them.
    /// </summary>
    public override PreTokenizer PreTokenizer => _preTokenizer;

    /// <summary>Encodes text into ids, up to <see cref="EncodeSettings.MaxTokenCount"/> whole tokens.</summary>
    /// <remarks>
    /// <see cref="EncodeResults{T}.NormalizedText"/> is always null: <see cref="EncodeResults{T}.CharsConsumed"/>
    /// counts characters of the text as given, normalized or not (see <see cref="GetIndexByTokenCount(string, ReadOnlySpan{char}, EncodeSettings, bool, out string, out int)"/>).
    /// </remarks>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var input = text is null ? textSpan : text.AsSpan();
        int maxTokenCount = CheckMaxTokenCount(settings);
        if (maxTokenCount == int.MaxValue)
        {
            var ids = new List<int>(input.Length / 3 + 4);
            Encode(input, ids, settings.ConsiderNormalization, settings.ConsiderPreTokenization);
            return new EncodeResults<int> { Tokens = ids, CharsConsumed = input.Length };
        }
        var layout = TokenLayout.Build(this, input, settings.ConsiderNormalization, settings.ConsiderPreTokenization, maxTokenCount, textString: text);
        var (index, count) = layout.PrefixCut(maxTokenCount);
        return new EncodeResults<int> { Tokens = layout.Ids.Take(count).ToArray(), CharsConsumed = index };
    }

    /// <summary>
    /// Encodes text into tokens: id, vocabulary string (byte-level, as in tokenizer.json: <c>Ġworld</c>) and
    /// offset in the text as given.
    /// </summary>
    /// <remarks>
    /// The offsets are contiguous, in order, and cover the text, also where NFC changed it. Byte-level BPE can split
    /// a character's UTF-8 bytes between tokens, and NFC can turn several characters into one: such a character (or
    /// stretch) belongs to the token that completes it, and the tokens before that one, within it, get an empty
    /// range where it begins. <see cref="EncodeResults{T}.NormalizedText"/> is always null, as the offsets are in
    /// the text as given.
    /// </remarks>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var input = text is null ? textSpan : text.AsSpan();
        int maxTokenCount = CheckMaxTokenCount(settings);
        var layout = TokenLayout.Build(this, input, settings.ConsiderNormalization, settings.ConsiderPreTokenization, maxTokenCount, textString: text);
        var (index, count) = layout.PrefixCut(maxTokenCount);
        var tokens = new EncodedToken[count];
        for (int i = 0; i < count; i++)
        {
            int id = layout.Ids[i];
            tokens[i] = new EncodedToken(id, _tokens[id], layout.OffsetOf(i));
        }
        return new EncodeResults<EncodedToken> { Tokens = tokens, CharsConsumed = index };
    }

    /// <summary>Counts the tokens of the text (with a <see cref="EncodeSettings.MaxTokenCount"/>: those that fit, as <see cref="GetIndexByTokenCount(string, ReadOnlySpan{char}, EncodeSettings, bool, out string, out int)"/> counts them).</summary>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var input = text is null ? textSpan : text.AsSpan();
        int maxTokenCount = CheckMaxTokenCount(settings);
        if (maxTokenCount == int.MaxValue)
        {
            var ids = new List<int>(input.Length / 3 + 4);
            Encode(input, ids, settings.ConsiderNormalization, settings.ConsiderPreTokenization);
            return ids.Count;
        }
        return TokenLayout.Build(this, input, settings.ConsiderNormalization, settings.ConsiderPreTokenization, maxTokenCount, textString: text)
            .PrefixCut(maxTokenCount).TokenCount;
    }

    /// <summary>
    /// Finds where to cut the text so that the part kept holds as many whole tokens as fit in
    /// <see cref="EncodeSettings.MaxTokenCount"/>: from the start (the index after the last character kept) or, with
    /// <paramref name="fromEnd"/>, from the end (the index of the first character kept).
    /// </summary>
    /// <remarks>
    /// The index is in the text as given, never in a normalized copy (<paramref name="normalizedText"/> is always
    /// null), and never splits a surrogate pair or a character whose bytes BPE split between tokens. The part kept
    /// encodes on its own to exactly <paramref name="tokenCount"/> tokens, the same as the first (or last) ones of
    /// the whole text; <paramref name="tokenCount"/> is the largest count up to the maximum for which such a cut
    /// exists, except inside a stretch of more than 64 characters that NFC rewrites as a whole (a tower of combining
    /// marks), which is only cut at its ends.
    /// </remarks>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        var input = text is null ? textSpan : text.AsSpan();
        int maxTokenCount = CheckMaxTokenCount(settings);
        normalizedText = null;
        bool normalize = settings.ConsiderNormalization, preTokenize = settings.ConsiderPreTokenization;
        var (index, count) = fromEnd
            ? TokenLayout.Build(this, input, normalize, preTokenize, textString: text).SuffixCut(maxTokenCount)
            : TokenLayout.Build(this, input, normalize, preTokenize, maxTokenCount, textString: text).PrefixCut(maxTokenCount);
        tokenCount = count;
        return index;
    }

    /// <summary>Decodes ids into text, keeping special tokens (as <see cref="Decode(ReadOnlySpan{int}, bool)"/> does by default).</summary>
    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids switch
        {
            int[] array => Decode(array, skipSpecialTokens: false),
            List<int> list => Decode(CollectionsMarshal.AsSpan(list), skipSpecialTokens: false),
            _ => Decode(ids.ToArray(), skipSpecialTokens: false),
        };
    }

    /// <summary>
    /// Decodes ids into <paramref name="destination"/>, keeping special tokens. When it is too small, writes the
    /// text of as many ids as fit whose text ends with a complete character, so decoding the rest of the ids later
    /// continues it exactly.
    /// </summary>
    /// <returns><see cref="OperationStatus.Done"/> when every id was decoded, else <see cref="OperationStatus.DestinationTooSmall"/>.</returns>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        idsConsumed = 0;
        charsWritten = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(64);
        try
        {
            int pending = 0; // bytes of a character not yet complete, at the start of buffer
            int consumed = 0;
            int written = 0;
            foreach (int id in ids)
            {
                consumed++;
                var bytes = _tokenBytes[id];
                int total = pending + bytes.Length;
                if (buffer.Length < total)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(total);
                    buffer.AsSpan(0, pending).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                bytes.CopyTo(buffer.AsSpan(pending));
                int held = StreamingDecoder.IncompleteTailLength(buffer.AsSpan(0, total));
                if (!TryWrite(buffer.AsSpan(0, total - held), destination, ref written)) return OperationStatus.DestinationTooSmall;
                buffer.AsSpan(total - held, held).CopyTo(buffer);
                pending = held;
                if (pending == 0)
                {
                    idsConsumed = consumed;
                    charsWritten = written;
                }
            }

            // An unfinished character at the end decodes to U+FFFD, as in the one-shot decode.
            if (!TryWrite(buffer.AsSpan(0, pending), destination, ref written)) return OperationStatus.DestinationTooSmall;
            idsConsumed = consumed;
            charsWritten = written;
            return OperationStatus.Done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        static bool TryWrite(ReadOnlySpan<byte> bytes, Span<char> destination, ref int written)
        {
            int count = Encoding.UTF8.GetCharCount(bytes);
            if (count > destination.Length - written) return false;
            written += Encoding.UTF8.GetChars(bytes, destination[written..]);
            return true;
        }
    }

    private static int CheckMaxTokenCount(EncodeSettings settings)
    {
        if (settings.MaxTokenCount <= 0)
            throw new ArgumentOutOfRangeException("maxTokenCount", settings.MaxTokenCount, "The maximum number of tokens must be greater than zero.");
        return settings.MaxTokenCount;
    }

    /// <summary>The text as encoding normalizes it (<see cref="Normalizer"/>).</summary>
    private string NormalizeText(ReadOnlySpan<char> text)
    {
        string? sanitized = LoneSurrogates.ReplaceOrNull(text);
        if (sanitized is not null) text = sanitized;
        var output = new StringBuilder(text.Length);
        while (!text.IsEmpty)
        {
            bool found = _rawTextTokens.TryFindNext(text, out int index, out int length, out _);
            var stretch = found ? text[..index] : text;
            string? normalized = Nfc.NormalizeOrNull(stretch);
            if (normalized is null) output.Append(stretch);
            else output.Append(normalized);
            if (!found) break;
            output.Append(text.Slice(index, length));
            text = text[(index + length)..];
        }
        return output.ToString();
    }

    /// <summary>The pieces of normalized text BPE encodes one by one (<see cref="PreTokenizer"/>).</summary>
    private List<(int Offset, int Length)> SplitPieces(ReadOnlySpan<char> text)
    {
        // Replacing lone surrogates keeps every offset; the classes of the copy are those encoding sees.
        string? sanitized = LoneSurrogates.ReplaceOrNull(text);
        if (sanitized is not null) text = sanitized;
        var pieces = new List<(int Offset, int Length)>();
        int position = 0;
        while (position < text.Length)
        {
            bool found = _rawTextTokens.TryFindNext(text[position..], out int index, out int length, out _);
            int end = found ? position + index : text.Length;
            SplitNormalized(text, position, end, pieces);
            if (!found) break;
            pieces.Add((end, length));
            position = end + length;
        }
        return pieces;
    }

    private void SplitNormalized(ReadOnlySpan<char> text, int start, int end, List<(int Offset, int Length)> pieces)
    {
        int position = start;
        while (position < end)
        {
            bool found = _normalizedTextTokens.TryFindNext(text[position..end], out int index, out int length, out _);
            int stop = found ? position + index : end;
            while (position < stop)
            {
                int word = Gpt2PreTokenizer.NextWordLength(text[position..stop]);
                pieces.Add((position, word));
                position += word;
            }
            if (!found) break;
            pieces.Add((stop, length));
            position = stop + length;
        }
    }

    private sealed class PipelineNormalizer(OlmoeTokenizer tokenizer) : Normalizer
    {
        public override string Normalize(string original) => tokenizer.NormalizeText(original ?? string.Empty);

        public override string Normalize(ReadOnlySpan<char> original) => tokenizer.NormalizeText(original);
    }

    private sealed class PipelinePreTokenizer(OlmoeTokenizer tokenizer) : PreTokenizer
    {
        public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => tokenizer.SplitPieces(text ?? string.Empty);

        public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => tokenizer.SplitPieces(text);
    }
}
