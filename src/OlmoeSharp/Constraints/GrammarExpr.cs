using System.Text;

namespace OlmoeSharp.Constraints;

/// <summary>
/// A grammar over bytes as the compilers (JSON Schema, regular expressions, GBNF) build it: byte classes, sequences,
/// choices, bounded or unbounded repetition and calls of named rules (for recursion). <see cref="Grammar.Compile"/>
/// lowers it to the flat rule form the automaton runs. Nodes are shared freely: a node used in several places
/// becomes one rule.
/// </summary>
internal abstract record GrammarExpr
{
    /// <summary>The empty sequence (matches nothing, consumes nothing).</summary>
    public static GrammarExpr Empty { get; } = new SequenceExpr([]);

    public static GrammarExpr Bytes(ByteSet set) => new ByteClassExpr(set);

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, in order.</summary>
    public static GrammarExpr Literal(string text) => LiteralBytes(Encoding.UTF8.GetBytes(text));

    public static GrammarExpr LiteralBytes(ReadOnlySpan<byte> bytes)
    {
        var items = new GrammarExpr[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) items[i] = new ByteClassExpr(ByteSet.Single(bytes[i]));
        return items.Length == 1 ? items[0] : new SequenceExpr(items);
    }

    public static GrammarExpr Sequence(params GrammarExpr[] items) => items.Length == 1 ? items[0] : new SequenceExpr(items);

    public static GrammarExpr Choice(params GrammarExpr[] options) => options.Length == 1 ? options[0] : new ChoiceExpr(options);

    public static GrammarExpr Optional(GrammarExpr item) => new RepeatExpr(item, 0, 1);

    public static GrammarExpr Repeat(GrammarExpr item, int min, int? max) => new RepeatExpr(item, min, max);
}

/// <summary>One byte from a set.</summary>
internal sealed record ByteClassExpr(ByteSet Set) : GrammarExpr;

/// <summary>The items one after another.</summary>
internal sealed record SequenceExpr(GrammarExpr[] Items) : GrammarExpr;

/// <summary>Any one of the options (an empty list matches nothing: an unsatisfiable choice).</summary>
internal sealed record ChoiceExpr(GrammarExpr[] Options) : GrammarExpr;

/// <summary><see cref="Item"/> at least <see cref="Min"/> and at most <see cref="Max"/> times (null: unbounded).</summary>
internal sealed record RepeatExpr(GrammarExpr Item, int Min, int? Max) : GrammarExpr;

/// <summary>A call of a named rule, whose body may be set after the call is built (recursive rules).</summary>
internal sealed record RuleCallExpr(RuleSlot Rule) : GrammarExpr;

/// <summary>A named rule; its <see cref="Body"/> is filled in when known, so rules can refer to themselves.</summary>
internal sealed class RuleSlot(string name)
{
    public string Name { get; } = name;

    public GrammarExpr? Body { get; set; }

    public GrammarExpr Call() => new RuleCallExpr(this);
}
