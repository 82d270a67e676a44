using System.Globalization;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Constraints;

/// <summary>
/// Compiles the regular-expression subset JSON Schema patterns use in practice into the grammar of a JSON string's
/// contents: literals, <c>.</c>, classes (<c>[a-z]</c>, <c>[^"]</c>, <c>\d \w \s</c> and their negations), groups,
/// alternation, the quantifiers <c>* + ? {n} {n,} {n,m}</c> (lazy forms too: generation has no preference) and the
/// anchors <c>^</c> and <c>$</c> at the ends of a top-level alternative. A pattern without an anchor matches
/// anywhere, so text is allowed around it, as JSON Schema specifies. Classes generate the characters every
/// regex dialect agrees on (<c>\d</c> is 0–9, <c>\W</c> is ASCII punctuation, <c>.</c> and negated classes a BMP
/// character but no line terminator), so the
/// validator's engine accepts what is generated. Backreferences, lookaround and <c>\b</c> are refused.
/// </summary>
internal sealed class RegexCompiler
{
    private const int MaxRepeat = 10_000;

    private static readonly CodePointSet Digits = CodePointSet.Of(('0', '9'));
    private static readonly CodePointSet WordChars = CodePointSet.Of(('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_'));
    private static readonly CodePointSet Spaces = CodePointSet.Of((' ', ' '), ('\t', '\r'));
    private static readonly CodePointSet Ascii = CodePointSet.Of((0, 0x7F));
    private static readonly CodePointSet LineTerminators = CodePointSet.Of(('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029));

    // .NET and JavaScript regexes without the u flag match UTF-16 code units: a character beyond the BMP is two of
    // them to `.` and to a negated class, so those generate BMP characters only.
    private static readonly CodePointSet Bmp = CodePointSet.Of((0, 0xFFFF));

    private readonly string _pattern;
    private readonly string _location;
    private int _at;

    private RegexCompiler(string pattern, string location)
    {
        _pattern = pattern;
        _location = location;
    }

    /// <summary>The contents (between the quotes) of JSON strings that <paramref name="pattern"/> matches.</summary>
    /// <param name="pattern">The regular expression.</param>
    /// <param name="location">Where the pattern comes from, for errors (a JSON pointer).</param>
    /// <exception cref="ResponseFormatException">The pattern uses a construct outside the subset, or is malformed.</exception>
    public static GrammarExpr Compile(string pattern, string location)
    {
        var compiler = new RegexCompiler(pattern, location);
        var options = new List<GrammarExpr>();
        do
        {
            bool anchoredStart = compiler.Take('^');
            var body = compiler.Concatenation(topLevel: true);
            bool anchoredEnd = compiler.Take('$');
            var anything = GrammarExpr.Repeat(JsonGrammar.StringChar, 0, null);
            options.Add(GrammarExpr.Sequence(anchoredStart ? GrammarExpr.Empty : anything, body, anchoredEnd ? GrammarExpr.Empty : anything));
        }
        while (compiler.Take('|'));
        if (compiler._at < pattern.Length) throw compiler.Error($"unexpected '{pattern[compiler._at]}'");
        return GrammarExpr.Choice([.. options]);
    }

    private ResponseFormatException Error(string reason) =>
        new(_location, $"pattern \"{_pattern}\" at offset {_at}: {reason}.");

    private bool Take(char c)
    {
        if (_at < _pattern.Length && _pattern[_at] == c)
        {
            _at++;
            return true;
        }
        return false;
    }

    private GrammarExpr Alternation()
    {
        var options = new List<GrammarExpr> { Concatenation(topLevel: false) };
        while (Take('|')) options.Add(Concatenation(topLevel: false));
        return GrammarExpr.Choice([.. options]);
    }

    private GrammarExpr Concatenation(bool topLevel)
    {
        var items = new List<GrammarExpr>();
        while (_at < _pattern.Length && _pattern[_at] is not ('|' or ')'))
        {
            if (_pattern[_at] == '$' && topLevel && (_at + 1 == _pattern.Length || _pattern[_at + 1] == '|')) break;
            if (_pattern[_at] is '^' or '$') throw Error("anchors are supported only at the start and end of the pattern (or of a top-level alternative)");
            items.Add(Quantified(Atom()));
        }
        if (_at < _pattern.Length && _pattern[_at] == ')' && topLevel) throw Error("unbalanced ')'");
        return GrammarExpr.Sequence([.. items]);
    }

    private GrammarExpr Quantified(GrammarExpr atom)
    {
        while (_at < _pattern.Length)
        {
            int min, max;
            char c = _pattern[_at];
            if (c == '*') (min, max) = (0, -1);
            else if (c == '+') (min, max) = (1, -1);
            else if (c == '?') (min, max) = (0, 1);
            else if (c == '{' && TryBraces(out min, out max)) { }
            else return atom;
            if (c != '{') _at++;
            Take('?'); // lazy: the same set of strings
            atom = GrammarExpr.Repeat(atom, min, max < 0 ? null : max);
        }
        return atom;
    }

    private bool TryBraces(out int min, out int max)
    {
        min = max = 0;
        int close = _pattern.IndexOf('}', _at);
        if (close < 0) return false;
        string inside = _pattern[(_at + 1)..close];
        string[] parts = inside.Split(',');
        if (parts.Length > 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out min)) return false;
        if (parts.Length == 1) max = min;
        else if (parts[1].Length == 0) max = -1;
        else if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out max)) return false;
        if (max >= 0 && max < min) throw Error($"{{{inside}}} has its maximum below its minimum");
        if (Math.Max(min, max) > MaxRepeat) throw Error($"repetition counts above {MaxRepeat} are not supported");
        _at = close + 1;
        return true;
    }

    private GrammarExpr Atom()
    {
        char c = _pattern[_at++];
        switch (c)
        {
            case '(':
                if (Take('?'))
                {
                    if (Take(':')) { }
                    else if (Take('<') && _at < _pattern.Length && _pattern[_at] is not ('=' or '!'))
                    {
                        int end = _pattern.IndexOf('>', _at);
                        if (end < 0) throw Error("unterminated group name");
                        _at = end + 1;
                    }
                    else throw Error("lookaround and inline options are not supported");
                }
                var inner = Alternation();
                if (!Take(')')) throw Error("missing ')'");
                return inner;
            case '[':
                return JsonGrammar.Chars(Class());
            case '.':
                return JsonGrammar.Chars(Bmp.Except(LineTerminators));
            case '\\':
                return JsonGrammar.Chars(Escape(inClass: false));
            case '*' or '+' or '?' or '{':
                throw Error($"'{c}' has nothing to repeat");
            default:
                _at--;
                return JsonGrammar.Chars(CodePointSet.Single(NextCodePoint()));
        }
    }

    private int NextCodePoint()
    {
        int codePoint = char.ConvertToUtf32(_pattern, _at);
        _at += char.IsSurrogatePair(_pattern, _at) ? 2 : 1;
        return codePoint;
    }

    private CodePointSet Class()
    {
        bool negated = Take('^');
        var set = CodePointSet.Empty;
        bool first = true;
        while (true)
        {
            if (_at >= _pattern.Length) throw Error("missing ']'");
            if (_pattern[_at] == ']' && !first)
            {
                _at++;
                break;
            }
            first = false;
            CodePointSet item;
            int low;
            if (_pattern[_at] == '\\')
            {
                _at++;
                item = Escape(inClass: true);
                if (item.Ranges is not [var (a, b)] || a != b)
                {
                    set = set.Union(item);
                    continue;
                }
                low = a;
            }
            else low = NextCodePoint();
            if (_at + 1 < _pattern.Length && _pattern[_at] == '-' && _pattern[_at + 1] != ']')
            {
                _at++;
                int high = _pattern[_at] == '\\' ? SingleEscape() : NextCodePoint();
                if (high < low) throw Error("a class range runs backwards");
                set = set.Union(CodePointSet.Of((low, high)));
            }
            else set = set.Union(CodePointSet.Single(low));
        }
        return negated ? Bmp.Except(set) : set;
    }

    private int SingleEscape()
    {
        _at++;
        var set = Escape(inClass: true);
        if (set.Ranges is [var (a, b)] && a == b) return a;
        throw Error("a class range must end in a single character");
    }

    private CodePointSet Escape(bool inClass)
    {
        if (_at >= _pattern.Length) throw Error("the pattern ends in a backslash");
        char c = _pattern[_at++];
        return c switch
        {
            'd' => Digits,
            'D' => Ascii.Except(Digits),
            'w' => WordChars,
            'W' => Ascii.Except(WordChars),
            's' => Spaces,
            'S' => Ascii.Except(Spaces),
            'n' => CodePointSet.Single('\n'),
            't' => CodePointSet.Single('\t'),
            'r' => CodePointSet.Single('\r'),
            'f' => CodePointSet.Single('\f'),
            'v' => CodePointSet.Single('\v'),
            '0' => CodePointSet.Single(0),
            'x' => CodePointSet.Single(Hex(2)),
            'u' => CodePointSet.Single(Hex(4)),
            'b' when inClass => CodePointSet.Single('\b'),
            _ when char.IsAsciiLetterOrDigit(c) => throw Error($"\\{c} is not supported (no backreferences, word boundaries or Unicode properties)"),
            _ => CodePointSet.Single(c),
        };
    }

    private int Hex(int digits)
    {
        if (_at + digits > _pattern.Length || !int.TryParse(_pattern.AsSpan(_at, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
            throw Error("a hexadecimal escape needs " + digits + " digits");
        _at += digits;
        return value;
    }
}
