namespace OlmoeSharp.Constraints;

/// <summary>
/// Grammars of the decimal numbers in a range, as JSON writes them (no leading zeros, no "-0" integer): integers by
/// splitting the range digit by digit, and numbers as those integers plus fractions whose value stays inside the
/// bounds. Bounds are whole numbers within ±<see cref="MaxMagnitude"/>.
/// </summary>
internal static class DecimalRange
{
    /// <summary>The largest magnitude a bound may have (and that unbounded numbers are generated within): 10^15 − 1.</summary>
    public const long MaxMagnitude = 999_999_999_999_999;

    private static readonly GrammarExpr Digit = GrammarExpr.Bytes(ByteSet.Range('0', '9'));

    // A fraction ending in a non-zero digit, so n.f is strictly between n and n + 1.
    private static readonly GrammarExpr Fraction = GrammarExpr.Sequence(
        GrammarExpr.Literal("."), GrammarExpr.Repeat(Digit, 0, JsonGrammar.MaxDigits - 1), GrammarExpr.Bytes(ByteSet.Range('1', '9')));

    /// <summary>The integers in [<paramref name="min"/>, <paramref name="max"/>] (an empty choice when there are none).</summary>
    public static GrammarExpr Integers(long min, long max)
    {
        var options = new List<GrammarExpr>();
        if (min < 0) options.Add(GrammarExpr.Sequence(GrammarExpr.Literal("-"), NonNegative(Math.Max(1, -Math.Min(max, -1)), -min)));
        if (max >= 0) options.Add(NonNegative(Math.Max(min, 0), max));
        return new ChoiceExpr([.. options.Where(o => o is not ChoiceExpr { Options.Length: 0 })]);
    }

    /// <summary>
    /// The numbers between the bounds (each inclusive or exclusive): the integers inside, and n.f for an integer
    /// part n whose whole interval (n, n + 1) — or (−n − 1, −n) for "-n.f" — lies inside.
    /// </summary>
    public static GrammarExpr Numbers(long min, bool minExclusive, long max, bool maxExclusive)
    {
        var options = new List<GrammarExpr> { Integers(minExclusive ? min + 1 : min, maxExclusive ? max - 1 : max) };
        long positiveFirst = Math.Max(min, 0), positiveLast = max - 1;
        if (positiveFirst <= positiveLast) options.Add(GrammarExpr.Sequence(NonNegative(positiveFirst, positiveLast), Fraction));
        long negativeFirst = Math.Max(-max, 0), negativeLast = -min - 1;
        if (negativeFirst <= negativeLast) options.Add(GrammarExpr.Sequence(GrammarExpr.Literal("-"), NonNegative(negativeFirst, negativeLast), Fraction));
        return new ChoiceExpr([.. options.Where(o => o is not ChoiceExpr { Options.Length: 0 })]);
    }

    /// <summary>The integers in [first, last], both ≥ 0, in canonical decimal.</summary>
    private static GrammarExpr NonNegative(long first, long last)
    {
        var options = new List<GrammarExpr>();
        for (int digits = 1; digits <= 16 && first <= last; digits++)
        {
            long top = digits == 16 ? long.MaxValue : Pow10(digits) - 1;
            if (first > top) continue;
            long end = Math.Min(last, top);
            options.Add(SameLength(first.ToString(), end.ToString()));
            first = end + 1;
        }
        return GrammarExpr.Choice([.. options]);
    }

    // The digit strings from low to high, both of one length.
    private static GrammarExpr SameLength(string low, string high)
    {
        if (low.Length == 0) return GrammarExpr.Empty;
        if (low == high) return GrammarExpr.Literal(low);
        if (low[0] == high[0]) return GrammarExpr.Sequence(GrammarExpr.Literal(low[..1]), SameLength(low[1..], high[1..]));
        int rest = low.Length - 1;
        string nines = new('9', rest), zeros = new('0', rest);
        var options = new List<GrammarExpr>();
        char middleFirst = low[0], middleLast = high[0];
        if (low[1..] != zeros)
        {
            options.Add(GrammarExpr.Sequence(GrammarExpr.Literal(low[..1]), SameLength(low[1..], nines)));
            middleFirst++;
        }
        bool highAllNines = high[1..] == nines;
        if (!highAllNines) middleLast--;
        if (middleFirst <= middleLast)
            options.Add(GrammarExpr.Sequence(GrammarExpr.Bytes(ByteSet.Range(middleFirst, middleLast)), GrammarExpr.Repeat(Digit, rest, rest)));
        if (!highAllNines) options.Add(GrammarExpr.Sequence(GrammarExpr.Literal(high[..1]), SameLength(zeros, high[1..])));
        return GrammarExpr.Choice([.. options]);
    }

    private static long Pow10(int digits)
    {
        long value = 1;
        for (int i = 0; i < digits; i++) value *= 10;
        return value;
    }
}
