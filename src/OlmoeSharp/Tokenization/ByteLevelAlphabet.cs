namespace OlmoeSharp.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet: every byte value is shown as a printable character, so BPE tokens are strings.
/// Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, 0x7F-0xA0, 0xAD) map to
/// U+0100 onwards in byte order (space becomes 'Ġ', newline 'Ċ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char ToChar(byte value) => ByteToChar[value];

    /// <summary>The byte <paramref name="c"/> stands for, or false when it is not in the alphabet.</summary>
    public static bool TryGetByte(char c, out byte value)
    {
        if (c < CharToByte.Length && CharToByte[c] >= 0)
        {
            value = (byte)CharToByte[c];
            return true;
        }
        value = 0;
        return false;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[256 + 68];
        map.AsSpan().Fill(-1);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (short)b;
        return map;
    }
}
