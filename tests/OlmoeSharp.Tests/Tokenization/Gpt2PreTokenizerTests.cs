using OlmoeSharp.Tokenization;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tests.Tokenization;

public sealed class Gpt2PreTokenizerTests
{
    [Theory]
    [InlineData("Hello world", new[] { "Hello", " world" })]
    [InlineData("a\t\tb", new[] { "a", "\t", "\t", "b" })]
    [InlineData("a \n b", new[] { "a", " \n", " b" })]
    [InlineData("x   ", new[] { "x", "   " })]
    [InlineData("don't", new[] { "don", "'t" })]
    [InlineData("we're they'll I'd", new[] { "we", "'re", " they", "'ll", " I", "'d" })]
    [InlineData("'S", new[] { "'", "S" })]
    [InlineData(" 's", new[] { " '", "s" })]
    [InlineData("'''s", new[] { "'''", "s" })]
    [InlineData("\U0001D400's", new[] { "\U0001D400", "'s" })]
    [InlineData("1 23 4.5", new[] { "1", " 23", " 4", ".", "5" })]
    [InlineData("a\u3000b", new[] { "a", "\u3000", "b" })]
    [InlineData("a\u00A0b", new[] { "a", "\u00A0", "b" })]
    [InlineData("a\u200Bb", new[] { "a", "\u200B", "b" })]
    [InlineData("!!! ??", new[] { "!!!", " ??" })]
    [InlineData("²³x", new[] { "²³", "x" })]
    [InlineData("\U0001F600\U0001F600 ok", new[] { "\U0001F600\U0001F600", " ok" })]
    public void Splits_like_the_gpt2_regex(string text, string[] expected)
    {
        var words = new List<string>();
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            int length = Gpt2PreTokenizer.NextWordLength(rest);
            words.Add(rest[..length].ToString());
            rest = rest[length..];
        }

        Assert.Equal(expected, words);
    }

    [Theory]
    [InlineData(0x41, (int)CharClass.Letter)]
    [InlineData(0x1D400, (int)CharClass.Letter)]
    [InlineData(0x01C5, (int)CharClass.Letter)]
    [InlineData(0x10D50, (int)CharClass.Letter)] // Garay, Unicode 16.0
    [InlineData(0x2EBF0, (int)CharClass.Letter)] // CJK extension I, Unicode 15.1
    [InlineData(0x10D40, (int)CharClass.Number)] // Garay digit, Unicode 16.0
    [InlineData(0x0663, (int)CharClass.Number)]
    [InlineData(0x2160, (int)CharClass.Number)]
    [InlineData(0x3000, (int)CharClass.Space)]
    [InlineData(0x0085, (int)CharClass.Space)]
    [InlineData(0x001C, (int)CharClass.Other)]
    [InlineData(0x200B, (int)CharClass.Other)]
    [InlineData(0x1F600, (int)CharClass.Other)]
    [InlineData(0x0301, (int)CharClass.Other)]
    public void Classifies_code_points(int codePoint, int expected)
    {
        Assert.Equal((CharClass)expected, UnicodeProperties.GetClass(codePoint));
    }
}
