using System.Text.RegularExpressions;

namespace OlmoeSharp.Generation;

/// <summary>
/// Recognises the Tulu chat template in the Jinja <c>chat_template</c> of a tokenizer_config.json or a GGUF file by
/// its structure, not its exact spelling: Jinja's whitespace control (<c>{%-</c>, <c>-%}</c>) and the whitespace
/// around tags and operators are ignored, string literals may use either quote and spell a newline as <c>\n</c> or
/// as a real line break, and the content may be read as <c>message['content']</c>, <c>message["content"]</c> or
/// <c>message.content</c>. What must be there: the three role markers each followed by the content, system and
/// user turns ending in a newline, assistant turns ending in <c>eos_token</c> (or the eos text itself), and the
/// generation prompt <c>&lt;|assistant|&gt;\n</c> under <c>add_generation_prompt</c>. Whether the template opens with
/// <c>{{ bos_token }}</c> (the 0924 files) or not (the 0125 files) is read off its start.
/// </summary>
internal static class TuluTemplateRecognizer
{
    private const string Plus = @"\s*\+\s*";
    private const string Content = @"message\s*(?:\[\s*(?:'content'|""content"")\s*\]|\.content)";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>What the template does at its start, when it is Tulu.</summary>
    /// <param name="LeadingBos">The template opens with the bos token.</param>
    public readonly record struct Shape(bool LeadingBos);

    /// <summary>The Tulu structure of <paramref name="template"/>, or null when it is not the Tulu template.</summary>
    /// <param name="template">The Jinja text.</param>
    /// <param name="bosToken">The file's bos text, which a template may spell out instead of <c>bos_token</c>.</param>
    /// <param name="eosToken">The file's eos text, likewise.</param>
    public static Shape? Recognise(string template, string? bosToken, string eosToken)
    {
        try
        {
            return RecogniseCore(template, bosToken, eosToken);
        }
        catch (RegexMatchTimeoutException)
        {
            return null; // A pathological string is no Tulu template.
        }
    }

    private static Shape? RecogniseCore(string template, string? bosToken, string eosToken)
    {
        // Whitespace control only changes whitespace that is not in string literals; drop it, then read the rest loosely.
        string text = template.Replace("{%-", "{%").Replace("-%}", "%}").Replace("{{-", "{{").Replace("-}}", "}}");
        string eos = $@"(?:eos_token|{Literal(eosToken)})";
        string[] required =
        [
            Literal("<|system|>\n") + Plus + Content + Plus + Literal("\n"),
            Literal("<|user|>\n") + Plus + Content + Plus + Literal("\n"),
            Literal("<|assistant|>\n") + Plus + Content + Plus + eos,
            @"add_generation_prompt",
            @"\{\{\s*" + Literal("<|assistant|>\n") + @"\s*\}\}",
        ];
        foreach (string pattern in required)
            if (!Regex.IsMatch(text, pattern, RegexOptions.CultureInvariant, Timeout)) return null;
        // Markers of other formats mean this is some other template that happens to mention Tulu's.
        foreach (string foreign in (string[])["<|im_start|>", "[INST]", "<|start_header_id|>", "<start_of_turn>"])
            if (text.Contains(foreign, StringComparison.Ordinal)) return null;

        string start = text.TrimStart();
        bool leadingBos = Regex.IsMatch(start, @"^\{\{\s*bos_token\s*\}\}", RegexOptions.CultureInvariant, Timeout)
            || (!string.IsNullOrEmpty(bosToken) && (start.StartsWith(bosToken, StringComparison.Ordinal)
                || Regex.IsMatch(start, @"^\{\{\s*" + Literal(bosToken) + @"\s*\}\}", RegexOptions.CultureInvariant, Timeout)));
        return new Shape(leadingBos);
    }

    /// <summary>A pattern for a Jinja string literal holding <paramref name="value"/>, in either quote, a newline as \n or a line break.</summary>
    private static string Literal(string value)
    {
        string body = string.Join(@"(?:\\n|\n)", value.Split('\n').Select(Regex.Escape));
        return $@"(?:'{body}'|""{body}"")";
    }
}
