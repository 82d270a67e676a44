using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Decodes ids arriving one at a time, as during generation. Each call returns the text that became complete:
/// a character whose UTF-8 bytes are split across tokens is held back until its last byte arrives, and nothing is
/// returned twice. The concatenation of everything returned, <see cref="Flush"/> included, equals
/// <see cref="OlmoeTokenizer.Decode(ReadOnlySpan{int}, bool)"/> of all the ids. Not thread-safe: use one decoder per generation.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly TokenByteTable _tokenBytes;
    private readonly OlmoeTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private byte[] _buffer = new byte[64];

    // Bytes of a character still incomplete (at most three), kept at the start of _buffer.
    private int _pending;

    internal StreamingDecoder(OlmoeTokenizer tokenizer, TokenByteTable tokenBytes, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _tokenBytes = tokenBytes;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id and returns the text it completes (possibly empty).</summary>
    public string Append(int id)
    {
        if (_skipSpecialTokens && _tokenizer.IsSpecial(id)) return string.Empty;
        var bytes = _tokenBytes[id];
        if (bytes.IsEmpty) return string.Empty;
        int total = _pending + bytes.Length;
        if (_buffer.Length < total) Array.Resize(ref _buffer, Math.Max(total, _buffer.Length * 2));
        bytes.CopyTo(_buffer.AsSpan(_pending));
        int held = IncompleteTailLength(_buffer.AsSpan(0, total));
        string text = Encoding.UTF8.GetString(_buffer, 0, total - held);
        _buffer.AsSpan(total - held, held).CopyTo(_buffer);
        _pending = held;
        return text;
    }

    /// <summary>
    /// Returns what is still held back (an unfinished character, which decodes to U+FFFD as in the one-shot decode)
    /// and empties the decoder, which can then start over.
    /// </summary>
    public string Flush()
    {
        string text = Encoding.UTF8.GetString(_buffer, 0, _pending);
        _pending = 0;
        return text;
    }

    /// <summary>
    /// The length of the trailing bytes that begin a UTF-8 character and may still be completed by later bytes.
    /// Everything before them decodes the same whatever follows, because they start with a lead byte, and a lead
    /// byte ends any sequence before it (in the lossy decoding: with U+FFFD if that sequence was unfinished).
    /// </summary>
    internal static int IncompleteTailLength(ReadOnlySpan<byte> bytes)
    {
        for (int k = 1; k <= 3 && k <= bytes.Length; k++)
        {
            byte lead = bytes[^k];
            if ((lead & 0xC0) == 0x80) continue;
            int needed = lead switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 0,
            };

            // Already complete, or unable to start a character (ASCII, or a byte UTF-8 never uses as a lead), or
            // followed by a byte it cannot take: then its fate is sealed and it decodes now.
            if (needed <= k || (k >= 2 && !IsValidSecondByte(lead, bytes[^(k - 1)]))) return 0;
            return k;
        }
        return 0;
    }

    // The second byte's range is narrower after these leads (no overlong forms, no surrogates, nothing past U+10FFFF).
    private static bool IsValidSecondByte(byte lead, byte second) => lead switch
    {
        0xE0 => second is >= 0xA0 and <= 0xBF,
        0xED => second is >= 0x80 and <= 0x9F,
        0xF0 => second is >= 0x90 and <= 0xBF,
        0xF4 => second is >= 0x80 and <= 0x8F,
        _ => second is >= 0x80 and <= 0xBF,
    };
}
