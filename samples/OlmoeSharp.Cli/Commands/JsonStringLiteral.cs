using System.Globalization;
using System.Text;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// Unescapes a JSON string literal that System.Text.Json has already validated, keeping unpaired surrogate escapes
/// (which System.Text.Json refuses to turn into a string) as the lone UTF-16 units they denote.
/// </summary>
internal static class JsonStringLiteral
{
    /// <param name="literal">The raw literal, quotes included, as given by <c>JsonElement.GetRawText()</c>.</param>
    public static string Unescape(string literal)
    {
        var text = new StringBuilder(literal.Length);
        for (int i = 1; i < literal.Length - 1; i++)
        {
            char c = literal[i];
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }
            char escape = literal[++i];
            text.Append(escape switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => (char)int.Parse(literal.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                _ => escape, // '"', '\\' and '/'
            });
            if (escape == 'u') i += 4;
        }
        return text.ToString();
    }
}
