using System.Globalization;
using System.Text;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Constraints;

/// <summary>
/// Reads a grammar in the GBNF notation of llama.cpp: rules <c>name ::= …</c> (the document is rule <c>root</c>),
/// with <c>"literals"</c>, <c>[character classes]</c> (ranges, <c>^</c> negation), <c>.</c> (any character),
/// rule names, <c>( groups )</c>, alternatives <c>|</c>, the quantifiers <c>* + ? {n} {n,} {n,m}</c> and
/// <c># comments</c>. A rule runs until the next <c>name ::=</c>, so alternatives may span lines. Escapes in
/// literals and classes: <c>\n \t \r \\ \" \] \xHH \uHHHH</c>.
/// </summary>
internal sealed class GbnfParser
{
    private const int MaxRepeat = 10_000;

    private readonly string _text;
    private readonly Dictionary<string, RuleSlot> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _defined = new(StringComparer.Ordinal);
    private int _at;

    private GbnfParser(string text) => _text = text;

    /// <summary>The grammar of rule <c>root</c>.</summary>
    /// <exception cref="ResponseFormatException">The text is malformed, a rule is missing or defined twice, or there is no root.</exception>
    public static GrammarExpr Parse(string text)
    {
        var parser = new GbnfParser(text);
        parser.SkipSpace();
        while (parser._at < text.Length) parser.Rule();
        if (!parser._defined.Contains("root")) throw new ResponseFormatException("grammar", "there is no rule named root (the document).");
        foreach (var (name, _) in parser._rules)
            if (!parser._defined.Contains(name)) throw new ResponseFormatException($"grammar rule {name}", "the rule is used but never defined.");
        return parser.Slot("root").Call();
    }

    private ResponseFormatException Error(string reason)
    {
        int line = 1 + _text.AsSpan(0, Math.Min(_at, _text.Length)).Count('\n');
        return new ResponseFormatException($"grammar line {line}", reason + ".");
    }

    private RuleSlot Slot(string name)
    {
        if (!_rules.TryGetValue(name, out var slot)) _rules[name] = slot = new RuleSlot(name);
        return slot;
    }

    private void Rule()
    {
        string name = Name() ?? throw Error("expected a rule name");
        SkipSpace();
        if (!_text.AsSpan(_at).StartsWith("::=")) throw Error($"expected '::=' after {name}");
        _at += 3;
        if (!_defined.Add(name)) throw Error($"the rule {name} is defined twice");
        Slot(name).Body = Alternatives(nested: false);
    }

    private GrammarExpr Alternatives(bool nested)
    {
        var options = new List<GrammarExpr> { Sequence(nested) };
        while (Peek() == '|')
        {
            _at++;
            options.Add(Sequence(nested));
        }
        return GrammarExpr.Choice([.. options]);
    }

    private GrammarExpr Sequence(bool nested)
    {
        var items = new List<GrammarExpr>();
        while (true)
        {
            SkipSpace();
            if (_at >= _text.Length || _text[_at] is '|' or ')') break;
            if (!nested && StartsRule()) break;
            items.Add(Quantified(Atom()));
        }
        return GrammarExpr.Sequence([.. items]);
    }

    // At "name ::=": the current rule has ended.
    private bool StartsRule()
    {
        int save = _at;
        bool result = Name() is not null && SkipSpaceThen("::=");
        _at = save;
        return result;
    }

    private bool SkipSpaceThen(string text)
    {
        SkipSpace();
        return _text.AsSpan(_at).StartsWith(text);
    }

    private GrammarExpr Quantified(GrammarExpr atom)
    {
        while (_at < _text.Length)
        {
            char c = _text[_at];
            if (c == '*') atom = GrammarExpr.Repeat(atom, 0, null);
            else if (c == '+') atom = GrammarExpr.Repeat(atom, 1, null);
            else if (c == '?') atom = GrammarExpr.Optional(atom);
            else if (c == '{') atom = Braces(atom);
            else return atom;
            if (c != '{') _at++;
        }
        return atom;
    }

    private GrammarExpr Braces(GrammarExpr atom)
    {
        int close = _text.IndexOf('}', _at);
        if (close < 0) throw Error("missing '}'");
        string[] parts = _text[(_at + 1)..close].Split(',');
        int max = 0;
        if (parts.Length > 2 || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int min)
            || (parts.Length == 2 && parts[1].Trim().Length > 0 && !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out max)))
            throw Error("a repetition is {n}, {n,} or {n,m}");
        int? upper = parts.Length == 1 ? min : parts[1].Trim().Length == 0 ? null : max;
        if (upper < min) throw Error("a repetition's maximum is below its minimum");
        if (Math.Max(min, upper ?? 0) > MaxRepeat) throw Error($"repetition counts above {MaxRepeat} are not supported");
        _at = close + 1;
        return GrammarExpr.Repeat(atom, min, upper);
    }

    private GrammarExpr Atom()
    {
        char c = _text[_at];
        if (c == '"')
        {
            _at++;
            var literal = new StringBuilder();
            while (true)
            {
                if (_at >= _text.Length) throw Error("unterminated string literal");
                if (_text[_at] == '"')
                {
                    _at++;
                    return GrammarExpr.Literal(literal.ToString());
                }
                literal.Append(char.ConvertFromUtf32(CodePoint()));
            }
        }
        if (c == '[') return Class().ToUtf8();
        if (c == '.')
        {
            _at++;
            return CodePointSet.All.ToUtf8();
        }
        if (c == '(')
        {
            _at++;
            var inner = Alternatives(nested: true);
            SkipSpace();
            if (Peek() != ')') throw Error("missing ')'");
            _at++;
            return inner;
        }
        string? name = Name();
        if (name is null) throw Error($"unexpected '{c}'");
        return Slot(name).Call();
    }

    private CodePointSet Class()
    {
        _at++;
        bool negated = _at < _text.Length && _text[_at] == '^';
        if (negated) _at++;
        var set = CodePointSet.Empty;
        while (true)
        {
            if (_at >= _text.Length) throw Error("unterminated character class");
            if (_text[_at] == ']')
            {
                _at++;
                break;
            }
            int low = CodePoint();
            int high = low;
            if (_at + 1 < _text.Length && _text[_at] == '-' && _text[_at + 1] != ']')
            {
                _at++;
                high = CodePoint();
                if (high < low) throw Error("a class range runs backwards");
            }
            set = set.Union(CodePointSet.Of((low, high)));
        }
        return negated ? set.Complement() : set;
    }

    // One character of a literal or class, escapes decoded.
    private int CodePoint()
    {
        if (_text[_at] != '\\')
        {
            int value = char.ConvertToUtf32(_text, _at);
            _at += char.IsSurrogatePair(_text, _at) ? 2 : 1;
            return value;
        }
        _at++;
        if (_at >= _text.Length) throw Error("the grammar ends in a backslash");
        char c = _text[_at++];
        return c switch
        {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'x' => Hex(2),
            'u' => Hex(4),
            'U' => Hex(8),
            '\\' or '"' or ']' or '[' or '-' or '^' => c,
            _ => throw Error($"unknown escape \\{c}"),
        };
    }

    private int Hex(int digits)
    {
        if (_at + digits > _text.Length || !int.TryParse(_text.AsSpan(_at, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value) || value > CodePointSet.MaxCodePoint)
            throw Error($"an escape needs {digits} hexadecimal digits of a code point");
        _at += digits;
        return value;
    }

    private string? Name()
    {
        int start = _at;
        while (_at < _text.Length && (char.IsAsciiLetterOrDigit(_text[_at]) || _text[_at] is '-' or '_')) _at++;
        return _at > start ? _text[start.._at] : null;
    }

    private char Peek()
    {
        SkipSpace();
        return _at < _text.Length ? _text[_at] : '\0';
    }

    private void SkipSpace()
    {
        while (_at < _text.Length)
        {
            if (char.IsWhiteSpace(_text[_at])) _at++;
            else if (_text[_at] == '#')
                while (_at < _text.Length && _text[_at] != '\n') _at++;
            else break;
        }
    }
}
