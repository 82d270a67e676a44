namespace OlmoeSharp.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet: every byte maps to a printable character (printable Latin-1 bytes to themselves,
/// the rest to U+0100 onwards), so BPE tokens are strings and every byte sequence is representable.
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(p => p.c, p => p.Item2);

    /// <summary>The bytes a token string stands for: its characters mapped back to bytes, or — for a token with a
    /// character outside the alphabet, such as an added token of plain spaces — its own UTF-8.</summary>
    public static void AppendBytes(string token, List<byte> output)
    {
        int start = output.Count;
        foreach (char c in token)
        {
            if (!CharToByte.TryGetValue(c, out byte b))
            {
                output.RemoveRange(start, output.Count - start);
                output.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
            output.Add(b);
        }
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
}
