using System.IO.Compression;
using System.Text;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tests.Tokenization.Unicode;

public sealed class NfcTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")] // composition
    [InlineData("\u00E9", "\u00E9")] // already composed
    [InlineData("\u212B", "\u00C5")] // singleton: ANGSTROM SIGN -> A WITH RING ABOVE
    [InlineData("\u2126", "\u03A9")] // singleton: OHM SIGN -> OMEGA
    [InlineData("\u0958", "\u0915\u093C")] // composition exclusion: DEVANAGARI QA stays decomposed
    [InlineData("\u0344", "\u0308\u0301")] // non-starter decomposition
    [InlineData("q\u0307\u0323", "q\u0323\u0307")] // canonical reordering (230 after 220), nothing composes
    [InlineData("\u1E0B\u0323", "\u1E0D\u0307")] // reorder, then compose with the mark that is no longer blocked
    [InlineData("a\u0328\u0301", "\u0105\u0301")] // ogonek (class 202) composes first; there is no a-ogonek-acute
    [InlineData("\u1100\u1161", "\uAC00")] // Hangul L+V
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul L+V+T
    [InlineData("\uAC00\u11A8", "\uAC01")] // Hangul LV+T
    [InlineData("\uAC01\u11A8", "\uAC01\u11A8")] // LVT takes no further trailing consonant
    [InlineData("A\u030A\u0301", "\u01FA")] // two-step composition
    [InlineData("\u0041\u0300\u0300", "\u00C0\u0300")] // second identical mark is blocked
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")] // supplementary-plane exclusion (musical half note)
    [InlineData("\U000110AB", "\U000110AB")] // Kaithi VA+NUKTA precomposed is allowed
    [InlineData("\U00011099\U000110BA", "\U0001109A")] // supplementary-plane composition
    [InlineData("\u0357\u07FD", "\u0357\u07FD")] // U+07FD (class 220) is Unicode 11: unknown to the 9.0 data, no reordering
    [InlineData("\U00011935\U00011930", "\U00011935\U00011930")] // Unicode 13 composition (U+11938), not in 9.0
    [InlineData("plain ASCII", "plain ASCII")]
    [InlineData("", "")]
    public void Normalizes_known_cases(string input, string expected)
    {
        Assert.Equal(Hex(expected), Hex(Nfc.Normalize(input)));
    }

    [Fact]
    public void Returns_normalized_text_unchanged_and_uncopied()
    {
        string text = "Crème brûlée, 한국어, 中文, 😀 and ASCII";
        Assert.Same(text, Nfc.Normalize(text));
        Assert.Null(Nfc.NormalizeOrNull(text));
    }

    [Fact]
    public void Passes_the_unicode_conformance_test()
    {
        var failures = new List<string>();
        var inPart1 = new HashSet<int>();
        string part = "";
        int cases = 0;
        foreach (string line in ReadConformanceLines())
        {
            if (line.StartsWith('@'))
            {
                part = line.Split(' ')[0];
                continue;
            }

            var columns = line.Split(';').Select(Parse).ToArray();
            if (part == "@Part1") inPart1.Add(char.ConvertToUtf32(columns[0], 0));

            // NFC: c2 == toNFC(c1) == toNFC(c2) == toNFC(c3); c4 == toNFC(c4) == toNFC(c5).
            Check(columns[0], columns[1]);
            Check(columns[1], columns[1]);
            Check(columns[2], columns[1]);
            Check(columns[3], columns[3]);
            Check(columns[4], columns[3]);
            cases++;
        }

        // Every code point not listed in part 1 is unchanged by normalization.
        for (int cp = 0; cp <= 0x10FFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF || inPart1.Contains(cp)) continue;

            string text = char.ConvertFromUtf32(cp);
            Check(text, text);
        }

        Assert.True(cases > 18_000, $"only {cases} conformance cases read");
        Assert.True(failures.Count == 0, $"{failures.Count} failures, first: {string.Join(" | ", failures.Take(10))}");

        void Check(string input, string expected)
        {
            string actual = Nfc.Normalize(input);
            if (actual != expected) failures.Add($"NFC({Hex(input)}) = {Hex(actual)}, expected {Hex(expected)}");
        }
    }

    [Fact]
    public void Sorts_a_long_run_of_marks_stably_and_in_linear_time()
    {
        // Thousands of stacked marks of mixed classes: the counting-sort path must give the stable order.
        var random = new Random(7);
        int[] marks = [0x0301, 0x0316, 0x0323, 0x0327, 0x0345, 0x05B0, 0x0E38, 0x302A, 0x0300];
        var input = new StringBuilder("x");
        for (int i = 0; i < 20_000; i++) input.Append((char)marks[random.Next(marks.Length)]);

        string text = input.ToString();
        string expected = "x" + new string(text[1..].OrderBy(c => UnicodeProperties.GetCombiningClass(c)).ToArray());
        var started = DateTime.UtcNow;

        string actual = Nfc.Normalize(text);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2));
        Assert.Equal(expected, actual);
    }

    private static IEnumerable<string> ReadConformanceLines()
    {
        using var stream = typeof(NfcTests).Assembly.GetManifestResourceStream("NormalizationTest.txt.gz")
            ?? throw new InvalidOperationException("NormalizationTest.txt.gz is not embedded");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0) yield return line;
        }
    }

    private static string Parse(string column) =>
        string.Concat(column.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(hex => char.ConvertFromUtf32(Convert.ToInt32(hex, 16))));

    private static string Hex(string text)
    {
        var codePoints = new List<string>();
        for (int i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
            codePoints.Add(char.ConvertToUtf32(text, i).ToString("X4"));

        return string.Join(' ', codePoints);
    }
}
