namespace OlmoeSharp.Constraints;

/// <summary>
/// The pieces of JSON's syntax as byte grammars, each built once and shared (a shared node is one rule): whitespace,
/// string characters, strings, numbers and any value. Whitespace runs are bounded so a model cannot pad forever,
/// and unbounded numbers stay within ±(10^15 − 1) with at most 15 fraction digits, so every number parses exactly
/// as a double.
/// </summary>
internal static class JsonGrammar
{
    /// <summary>The longest whitespace run allowed between tokens (enough for a newline and indentation).</summary>
    public const int MaxWhitespace = 12;

    /// <summary>Digits of an unbounded integer part, and of a fraction.</summary>
    public const int MaxDigits = 15;

    public static GrammarExpr Whitespace { get; } = GrammarExpr.Repeat(
        GrammarExpr.Choice(GrammarExpr.Literal(" "), GrammarExpr.Literal("\n"), GrammarExpr.Literal("\t"), GrammarExpr.Literal("\r")), 0, MaxWhitespace);

    /// <summary>One character of a string, any scalar value, in any of JSON's spellings.</summary>
    public static GrammarExpr StringChar { get; } = GrammarExpr.Choice(Chars(CodePointSet.All), UnicodeEscape());

    /// <summary>A character that forms a grapheme cluster of its own whatever follows (printable ASCII), for minLength.</summary>
    public static GrammarExpr SimpleChar { get; } = Chars(CodePointSet.Of((0x20, 0x7E)));

    public static GrammarExpr Quote { get; } = GrammarExpr.Literal("\"");

    public static GrammarExpr String { get; } = GrammarExpr.Sequence(Quote, GrammarExpr.Repeat(StringChar, 0, null), Quote);

    public static GrammarExpr Boolean { get; } = GrammarExpr.Choice(GrammarExpr.Literal("true"), GrammarExpr.Literal("false"));

    public static GrammarExpr Null { get; } = GrammarExpr.Literal("null");

    public static GrammarExpr Number { get; } = DecimalRange.Numbers(-DecimalRange.MaxMagnitude, false, DecimalRange.MaxMagnitude, false);

    private static readonly (GrammarExpr Value, GrammarExpr Object) AnyValue = BuildValue();

    /// <summary>Any JSON value (objects and arrays nest without limit).</summary>
    public static GrammarExpr Value => AnyValue.Value;

    /// <summary>Any JSON object.</summary>
    public static GrammarExpr Object => AnyValue.Object;

    /// <summary>The characters of <paramref name="set"/> as they may appear between a string's quotes (escaped where JSON requires).</summary>
    public static GrammarExpr Chars(CodePointSet set)
    {
        var special = CodePointSet.Of((0, 0x1F), ('"', '"'), ('\\', '\\'));
        var options = new List<GrammarExpr> { set.Except(special).ToUtf8() };
        if (set.Contains('"')) options.Add(GrammarExpr.Literal("\\\""));
        if (set.Contains('\\')) options.Add(GrammarExpr.Literal("\\\\"));
        if (set.Contains('/')) options.Add(GrammarExpr.Literal("\\/"));
        foreach (var (escape, c) in (ReadOnlySpan<(string, int)>)[("\\n", '\n'), ("\\t", '\t'), ("\\r", '\r'), ("\\b", '\b'), ("\\f", '\f')])
            if (set.Contains(c)) options.Add(GrammarExpr.Literal(escape));
        for (int c = 0; c < 0x20; c++)
            if (set.Contains(c)) options.Add(GrammarExpr.Literal($"\\u{c:x4}"));
        return GrammarExpr.Choice([.. options]);
    }

    /// <summary>Any string of at least <paramref name="min"/> and at most <paramref name="max"/> characters (null: no limit), quotes included.</summary>
    public static GrammarExpr StringOfLength(int min, int? max) => GrammarExpr.Sequence(
        Quote,
        GrammarExpr.Repeat(SimpleChar, min, min),
        GrammarExpr.Repeat(StringChar, 0, max - min),
        Quote);

    /// <summary>An object, members <c>"key": value</c> separated by commas, whitespace where JSON allows it.</summary>
    public static GrammarExpr ObjectOf(GrammarExpr key, GrammarExpr value)
    {
        var member = GrammarExpr.Sequence(key, Whitespace, GrammarExpr.Literal(":"), Whitespace, value, Whitespace);
        var more = GrammarExpr.Repeat(GrammarExpr.Sequence(GrammarExpr.Literal(","), Whitespace, member), 0, null);
        return GrammarExpr.Sequence(GrammarExpr.Literal("{"), Whitespace, GrammarExpr.Optional(GrammarExpr.Sequence(member, more)), GrammarExpr.Literal("}"));
    }

    /// <summary>An array of <paramref name="min"/> to <paramref name="max"/> items (null: no limit).</summary>
    public static GrammarExpr ArrayOf(GrammarExpr item, int min, int? max)
    {
        var open = GrammarExpr.Sequence(GrammarExpr.Literal("["), Whitespace);
        var close = GrammarExpr.Literal("]");
        if (max == 0) return GrammarExpr.Sequence(open, close);
        var items = GrammarExpr.Sequence(item, Whitespace,
            GrammarExpr.Repeat(GrammarExpr.Sequence(GrammarExpr.Literal(","), Whitespace, item, Whitespace), Math.Max(min - 1, 0), max - 1));
        return GrammarExpr.Sequence(open, min > 0 ? items : GrammarExpr.Optional(items), close);
    }

    // \uXXXX for any code unit but a surrogate (a lone surrogate is no character; pairs would count as two).
    private static GrammarExpr UnicodeEscape()
    {
        var hex = GrammarExpr.Bytes(ByteSet.Range('0', '9').Union(ByteSet.Range('a', 'f')).Union(ByteSet.Range('A', 'F')));
        var notD = GrammarExpr.Bytes(ByteSet.Range('0', '9').Union(ByteSet.Range('a', 'c')).Union(ByteSet.Range('A', 'C')).Union(ByteSet.Range('e', 'f')).Union(ByteSet.Range('E', 'F')));
        var low = GrammarExpr.Bytes(ByteSet.Range('0', '7'));
        var first = GrammarExpr.Choice(GrammarExpr.Sequence(notD, hex), GrammarExpr.Sequence(GrammarExpr.Bytes(ByteSet.Single((byte)'d').Union(ByteSet.Single((byte)'D'))), low));
        return GrammarExpr.Sequence(GrammarExpr.Literal("\\u"), first, hex, hex);
    }

    private static (GrammarExpr Value, GrammarExpr Object) BuildValue()
    {
        var value = new RuleSlot("value");
        var anyObject = ObjectOf(String, value.Call());
        value.Body = GrammarExpr.Choice(anyObject, ArrayOf(value.Call(), 0, null), String, Number, Boolean, Null);
        return (value.Call(), anyObject);
    }
}
