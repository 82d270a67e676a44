using System.Text;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>Seeded random text that exercises every tokenizer path: all planes, marks, Hangul, white-space runs.</summary>
internal static class RandomText
{
    private static readonly string[] Fragments =
    [
        " ", "  ", "    ", "\t", "\n", "\n\n", "\r\n", "\u00A0", "\u3000", "'s", "'re", "'ll", " 's", "'S", "don't",
        "|||IP_ADDRESS|||", "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "||", "<|", "|>", "Hello", " world", "123",
        "3.14", "e\u0301", "\u1100\u1161\u11A8", "\U0001D400's", "\U0001F9D1\U0001F3FF\u200D\U0001F4BB", "中文",
        "def f(x):\n    return x", "https://example.com/a?b=c", "Ω", "ǅ", "²", "\u0300\u0323",
    ];

    /// <summary>A string of up to <paramref name="maxParts"/> random fragments and code points.</summary>
    public static string Next(Random random, int maxParts)
    {
        var text = new StringBuilder();
        int parts = random.Next(1, maxParts + 1);
        for (int i = 0; i < parts; i++)
        {
            switch (random.Next(8))
            {
                case 0:
                    text.Append(Fragments[random.Next(Fragments.Length)]);
                    break;
                case 1:
                    text.Append((char)random.Next(0x20, 0x7F));
                    break;
                case 2:
                    text.Append((char)random.Next(0x0300, 0x0370)); // combining marks
                    break;
                case 3:
                    text.Append((char)random.Next(0xAC00, 0xD7A4)); // Hangul syllables
                    break;
                case 4:
                    text.Append(char.ConvertFromUtf32(random.Next(0x1F300, 0x1FAFF))); // emoji and symbols
                    break;
                case 5:
                    text.Append(' ', random.Next(1, 30));
                    break;
                default:
                    text.Append(char.ConvertFromUtf32(AnyScalar(random)));
                    break;
            }
        }

        return text.ToString();
    }

    private static int AnyScalar(Random random)
    {
        while (true)
        {
            int plane = random.Next(4) == 0 ? random.Next(17) : random.Next(2);
            int codePoint = (plane << 16) | random.Next(0x10000);
            if (codePoint is < 0xD800 or > 0xDFFF) return codePoint;
        }
    }
}
