using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Turns token ids into text as they are generated. A token can end inside a UTF-8 character; those bytes are held
/// until the character completes, so the caller never sees half a character or the same character twice, and the
/// concatenation of everything returned (with <see cref="Flush"/>) equals the one-shot decode of all the ids.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly OlmoeTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<byte> _pending = [];

    internal StreamingDecoder(OlmoeTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one token; returns the text it completes (possibly empty).</summary>
    public string Append(int id)
    {
        _tokenizer.AppendBytes(id, _skipSpecialTokens, _pending);
        int complete = _pending.Count - IncompleteTail();
        if (complete == 0) return "";
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[..complete]);
        _pending.RemoveRange(0, complete);
        return text;
    }

    /// <summary>Returns whatever is held back (an unfinished character becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        string text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending));
        _pending.Clear();
        return text;
    }

    /// <summary>
    /// Length of a trailing UTF-8 sequence that is still incomplete but could become valid with more bytes. Text up
    /// to it decodes the same now as later: its first byte is a lead byte, which always starts a new sequence.
    /// </summary>
    private int IncompleteTail()
    {
        int n = _pending.Count;
        for (int back = 1; back <= Math.Min(3, n); back++)
        {
            byte b = _pending[n - back];
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking for the lead
            int needed = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 1;
            if (needed <= back) return 0;
            // Held back only if what follows the lead could still be the start of a valid sequence.
            return Rune.DecodeFromUtf8(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending)[(n - back)..], out _, out _)
                == System.Buffers.OperationStatus.NeedMoreData ? back : 0;
        }
        return 0;
    }
}
