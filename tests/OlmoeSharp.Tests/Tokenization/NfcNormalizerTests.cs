using System.IO.Compression;
using System.Text;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

public sealed class NfcNormalizerTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]                    // composition
    [InlineData("\u00E9", "\u00E9")]                     // already composed
    [InlineData("\u212B", "\u00C5")]                     // singleton (Angstrom sign → Å)
    [InlineData("A\u030A", "\u00C5")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]         // Hangul L V T
    [InlineData("\uAC00\u11A8", "\uAC01")]               // Hangul LV + T
    [InlineData("a\u0323\u0302", "\u1EAD")]                // a + dot below composes first, then the circumflex
    [InlineData("a\u0302\u0323", "\u1EAD")]              // reordered (ccc 220 before 230), then composes to ậ
    [InlineData("\u0915\u093C", "\u0915\u093C")]         // composition exclusion (Devanagari QA stays decomposed)
    [InlineData("\u0344", "\u0308\u0301")]               // non-starter decomposition
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("\U0001D400's", "\U0001D400's")]        // astral letters pass through
    public void Normalizes_to_nfc(string input, string expected) => Assert.Equal(expected, NfcNormalizer.Normalize(input));

    /// <summary>
    /// Unicode's NormalizationTest.txt, NFC columns: c2 = NFC(c1) = NFC(c2) = NFC(c3) and c4 = NFC(c4) = NFC(c5),
    /// for every line whose characters the tables' Unicode version (NfcNormalizer.UnicodeVersion) knows.
    /// </summary>
    [Fact]
    public void Passes_the_unicode_normalization_conformance_test()
    {
        using var stream = typeof(NfcNormalizerTests).Assembly.GetManifestResourceStream("NormalizationTest.txt.gz")!;
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress));
        int checkedLines = 0;
        var failures = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] is '#' or '@') continue;
            var columns = line.Split(';').Take(5).Select(Parse).ToArray();
            checkedLines++;
            void Expect(string expected, string input)
            {
                if (NfcNormalizer.Normalize(input) != expected && failures.Count < 10) failures.Add(line);
            }
            Expect(columns[1], columns[0]);
            Expect(columns[1], columns[1]);
            Expect(columns[1], columns[2]);
            Expect(columns[3], columns[3]);
            Expect(columns[3], columns[4]);
        }
        Assert.True(checkedLines > 15_000, $"only {checkedLines} lines read");
        Assert.True(failures.Count == 0, "NFC differs on: " + string.Join(" | ", failures));
    }

    private static string Parse(string column)
    {
        var builder = new StringBuilder();
        foreach (var hex in column.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            builder.Append(char.ConvertFromUtf32(Convert.ToInt32(hex, 16)));
        return builder.ToString();
    }
}
