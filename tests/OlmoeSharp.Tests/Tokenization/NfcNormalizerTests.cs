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
}
