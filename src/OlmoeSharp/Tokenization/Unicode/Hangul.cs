namespace OlmoeSharp.Tokenization.Unicode;

/// <summary>
/// The algorithmic part of Unicode normalization: precomposed Hangul syllables are not listed in UnicodeData.txt
/// but decompose into leading consonant, vowel and optional trailing consonant jamo (Unicode §3.12).
/// </summary>
internal static class Hangul
{
    public const int SyllableBase = 0xAC00;
    public const int LeadBase = 0x1100;
    public const int VowelBase = 0x1161;
    public const int TrailBase = 0x11A7;
    public const int LeadCount = 19;
    public const int VowelCount = 21;
    public const int TrailCount = 28;
    private const int VowelTrailCount = VowelCount * TrailCount;
    public const int SyllableCount = LeadCount * VowelTrailCount;

    /// <summary>True for a precomposed syllable U+AC00..U+D7A3.</summary>
    public static bool IsSyllable(int codePoint) => (uint)(codePoint - SyllableBase) < SyllableCount;

    /// <summary>Appends the two or three jamo of <paramref name="syllable"/>.</summary>
    public static void Decompose(int syllable, ref CodePointBuffer output)
    {
        int index = syllable - SyllableBase;
        output.Add(LeadBase + index / VowelTrailCount);
        output.Add(VowelBase + index % VowelTrailCount / TrailCount);
        int trail = index % TrailCount;
        if (trail != 0) output.Add(TrailBase + trail);
    }

    /// <summary>Composes lead + vowel into an LV syllable, or LV syllable + trail into an LVT syllable.</summary>
    public static bool TryCompose(int first, int second, out int composite)
    {
        if ((uint)(first - LeadBase) < LeadCount && (uint)(second - VowelBase) < VowelCount)
        {
            composite = SyllableBase + ((first - LeadBase) * VowelCount + second - VowelBase) * TrailCount;
            return true;
        }
        if (IsSyllable(first) && (first - SyllableBase) % TrailCount == 0 && (uint)(second - TrailBase - 1) < TrailCount - 1)
        {
            composite = first + second - TrailBase;
            return true;
        }
        composite = 0;
        return false;
    }
}
