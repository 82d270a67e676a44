namespace OlmoeSharp.Constraints;

/// <summary>
/// A set of Unicode scalar values as sorted, disjoint, non-adjacent ranges (surrogates never included): the
/// character classes of regular expressions and GBNF, turned into byte grammars by <see cref="ToUtf8"/>.
/// </summary>
internal sealed class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;

    private CodePointSet(List<(int First, int Last)> ranges) => Ranges = ranges;

    /// <summary>The ranges, inclusive, in order.</summary>
    public IReadOnlyList<(int First, int Last)> Ranges { get; }

    public static CodePointSet Empty { get; } = new([]);

    /// <summary>Every scalar value.</summary>
    public static CodePointSet All { get; } = Of((0, MaxCodePoint));

    /// <summary>The union of the given inclusive ranges, surrogates removed.</summary>
    public static CodePointSet Of(params IEnumerable<(int First, int Last)> ranges)
    {
        var sorted = ranges.Where(r => r.First <= r.Last).OrderBy(r => r.First).ToList();
        var merged = new List<(int First, int Last)>();
        foreach (var (first, last) in sorted)
        {
            if (merged.Count > 0 && first <= merged[^1].Last + 1) merged[^1] = (merged[^1].First, Math.Max(merged[^1].Last, last));
            else merged.Add((first, last));
        }
        var result = new List<(int First, int Last)>();
        foreach (var (first, last) in merged)
        {
            if (last < 0xD800 || first > 0xDFFF) result.Add((first, last));
            else
            {
                if (first < 0xD800) result.Add((first, 0xD7FF));
                if (last > 0xDFFF) result.Add((0xE000, last));
            }
        }
        return new CodePointSet(result);
    }

    public static CodePointSet Single(int codePoint) => Of((codePoint, codePoint));

    public CodePointSet Union(CodePointSet other) => Of(Ranges.Concat(other.Ranges));

    /// <summary>Every scalar value not in this set.</summary>
    public CodePointSet Complement()
    {
        var gaps = new List<(int, int)>();
        int next = 0;
        foreach (var (first, last) in Ranges)
        {
            gaps.Add((next, first - 1));
            next = last + 1;
        }
        gaps.Add((next, MaxCodePoint));
        return Of(gaps);
    }

    public CodePointSet Except(CodePointSet other) => Of(Complement().Union(other).Complement().Ranges);

    public bool Contains(int codePoint)
    {
        foreach (var (first, last) in Ranges)
            if (codePoint >= first && codePoint <= last) return true;
        return false;
    }

    /// <summary>
    /// One character of the set as UTF-8: a choice of byte-class sequences, each covering a block of code points
    /// whose encodings differ only in byte ranges (the split regex engines use for UTF-8 automata).
    /// </summary>
    public GrammarExpr ToUtf8()
    {
        var options = new List<GrammarExpr>();
        foreach (var (first, last) in Ranges)
        {
            int low = first;
            foreach (int boundary in (ReadOnlySpan<int>)[0x7F, 0x7FF, 0xFFFF, MaxCodePoint])
            {
                if (low > last) break;
                if (low > boundary) continue;
                Split(low, Math.Min(last, boundary), options);
                low = boundary + 1;
            }
        }
        return new ChoiceExpr([.. options]);
    }

    // [first, last] have encodings of the same length; split until every byte position is one contiguous range.
    private static void Split(int first, int last, List<GrammarExpr> into)
    {
        int length = Utf8Length(first);
        for (int i = 1; i < length; i++)
        {
            int low = (1 << (6 * i)) - 1;
            if ((first & ~low) == (last & ~low)) continue;
            if ((first & low) != 0)
            {
                Split(first, first | low, into);
                Split((first | low) + 1, last, into);
                return;
            }
            if ((last & low) != low)
            {
                Split(first, (last & ~low) - 1, into);
                Split(last & ~low, last, into);
                return;
            }
        }
        Span<byte> a = stackalloc byte[4], b = stackalloc byte[4];
        Encode(first, a);
        Encode(last, b);
        var items = new GrammarExpr[length];
        for (int i = 0; i < length; i++) items[i] = GrammarExpr.Bytes(ByteSet.Range(a[i], b[i]));
        into.Add(GrammarExpr.Sequence(items));
    }

    private static int Utf8Length(int codePoint) => codePoint switch { < 0x80 => 1, < 0x800 => 2, < 0x10000 => 3, _ => 4 };

    private static void Encode(int codePoint, Span<byte> into) => new System.Text.Rune(codePoint).EncodeToUtf8(into);
}
