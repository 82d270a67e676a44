using System.Text;
using OlmoeSharp.Constraints;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Constraints;

/// <summary>
/// The token masks against brute force: for finite grammars, every string of the language is enumerated straight
/// from the grammar expression (no automaton, no trie), and at every prefix the allowed tokens must be exactly those
/// whose bytes keep the text a prefix of some string — and, under a token limit, ones after which a brute-force
/// search still finds a completion in the tokens left.
/// </summary>
public sealed class GrammarOracleTests
{
    private const string Alphabet = "abcdx\"{}:,12";

    public static TheoryData<string> Grammars =>
    [
        """root ::= "ab" | "a" [cd]{1,2} "x"? | "b" ("c" | "dd")*  """.Replace("*", "{0,3}"),
        """
        root ::= "{" (pair ("," pair)?)? "}"
        pair ::= "\"" [ab] "\":" value
        value ::= "1" | "22" | "{}" | "\"" [x]{0,2} "\""
        """,
        """root ::= item item? ; item ::= [a-c] | "dx" """.Replace(";", "\n"),
        """root ::= ("a" | "ab") ("bc" | "c")? "1"{1,2}""",
    ];

    [Theory]
    [MemberData(nameof(Grammars))]
    public void Allowed_tokens_are_exactly_those_keeping_a_valid_prefix(string gbnf)
    {
        var (language, prefixes, vocabulary, masker) = Setup(gbnf);
        int endOfText = vocabulary.Count;
        foreach (string prefix in prefixes)
        {
            var allowed = Allowed(masker, vocabulary, prefix, tokensLeft: 1000, out _);
            var expected = Enumerable.Range(0, vocabulary.Count).Where(id => prefixes.Contains(prefix + vocabulary[id])).ToHashSet();
            if (language.Contains(prefix)) expected.Add(endOfText);
            Assert.True(expected.SetEquals(allowed), $"after \"{prefix}\": expected [{Describe(expected, vocabulary)}], allowed [{Describe(allowed, vocabulary)}]");
        }
    }

    /// <summary>
    /// Under a token limit the allowed tokens are allowed without it too; while the constraint's own estimate of the
    /// tokens needed fits the limit (generation never lets it exceed it: the start is checked, then every token keeps
    /// it so), there is a token to take and each leaves a document that some sequence of tokens, found by brute force,
    /// completes in the tokens left after it. The estimate is never below the truth.
    /// </summary>
    [Theory]
    [MemberData(nameof(Grammars))]
    public void Under_a_token_limit_every_allowed_token_leaves_a_finishable_document(string gbnf)
    {
        var (language, prefixes, vocabulary, masker) = Setup(gbnf);
        int endOfText = vocabulary.Count;
        var finishable = new Dictionary<(string, int), bool>();
        bool Finishable(string text, int tokens)
        {
            if (!prefixes.Contains(text)) return false;
            if (finishable.TryGetValue((text, tokens), out bool known)) return known;
            bool closed = language.Contains(text) && !prefixes.Any(p => p.Length > text.Length && p.StartsWith(text, StringComparison.Ordinal));
            bool result = closed || (tokens > 0 && (language.Contains(text) || vocabulary.Any(t => Finishable(text + t, tokens - 1))));
            return finishable[(text, tokens)] = result;
        }

        foreach (string prefix in prefixes)
            foreach (int tokensLeft in (ReadOnlySpan<int>)[1, 2, 3, 5])
            {
                var unlimited = Allowed(masker, vocabulary, prefix, 1000, out _);
                var allowed = Allowed(masker, vocabulary, prefix, tokensLeft, out int estimate);
                string context = $"after \"{prefix}\" with {tokensLeft} tokens left: allowed [{Describe(allowed, vocabulary)}]";
                Assert.True(Finishable(prefix, estimate), $"after \"{prefix}\": the estimate {estimate} is below what it takes");
                Assert.Subset(unlimited, allowed);
                if (estimate > tokensLeft) continue;
                Assert.True(allowed.Count > 0, context);
                foreach (int id in allowed.Where(id => id != endOfText))
                    Assert.True(Finishable(prefix + vocabulary[id], tokensLeft - 1), context);
            }
    }

    private static (HashSet<string> Language, HashSet<string> Prefixes, List<string> Vocabulary, TokenMasker Masker) Setup(string gbnf)
    {
        var expr = GbnfParser.Parse(gbnf);
        var language = Enumerate(expr, maxLength: 24, depth: 6);
        var prefixes = new HashSet<string>(language.SelectMany(w => Enumerable.Range(0, w.Length + 1).Select(n => w[..n])));
        var vocabulary = SyntheticVocabulary();
        var trie = TokenTrie.Build([.. vocabulary.Select(Encoding.Latin1.GetBytes), []]);
        return (language, prefixes, vocabulary, new TokenMasker(Grammar.Compile(expr), trie));
    }

    /// <summary>The ids a fresh constraint allows after <paramref name="prefix"/> (spelled one character per token); the last id is end-of-text.</summary>
    private static HashSet<int> Allowed(TokenMasker masker, List<string> vocabulary, string prefix, int tokensLeft, out int estimate)
    {
        var constraint = new TokenConstraint(masker, [vocabulary.Count]);
        foreach (char c in prefix) constraint.Advance(vocabulary.IndexOf(c.ToString()));
        estimate = constraint.TokensToFinish;
        var logits = new float[vocabulary.Count + 1];
        constraint.Mask(logits, tokensLeft);
        return [.. Enumerable.Range(0, logits.Length).Where(id => !float.IsNegativeInfinity(logits[id]))];
    }

    [Fact]
    public void Masks_on_the_real_vocabulary_match_stepping_every_token_byte_by_byte()
    {
        var tokenizer = OlmoeSharp.Tokenization.OlmoeTokenizer.FromFile(SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json"));
        var format = ResponseFormat.ForJsonSchema(SchemaCases.All["strings"]);
        var trie = TokenTrie.For(tokenizer);
        var masker = format.Masker(trie);
        var reference = new ParserAutomaton(Grammar.Compile(JsonSchemaCompiler.Compile(System.Text.Json.JsonDocument.Parse(SchemaCases.All["strings"]).RootElement)));
        string document = """{"code": "AB-123yz", "word": "green", "free": "abb", "sized": "hello"}""";
        var constraint = new TokenConstraint(masker, [tokenizer.EndOfTextId]);
        var state = reference.Initial;
        var logits = new float[tokenizer.VocabularySize];
        foreach (byte b in Encoding.UTF8.GetBytes(document))
        {
            Array.Clear(logits);
            constraint.Mask(logits, 1000);
            for (int id = 0; id < tokenizer.VocabularySize; id++)
            {
                var after = state;
                var bytes = trie.TokenBytes[id];
                foreach (byte t in bytes)
                    if ((after = reference.Step(after, t)).IsDead) break;
                bool expected = bytes.Length > 0 && !after.IsDead;
                Assert.True(expected == !float.IsNegativeInfinity(logits[id]), $"token {id} ({Encoding.UTF8.GetString(bytes)}) after {state}: expected {expected}");
            }
            constraint.Advance(tokenizer.Encode(((char)b).ToString())[0]);
            state = reference.Step(state, b);
        }
        Assert.True(constraint.IsComplete);
    }

    [Theory]
    [InlineData("ab+", "xxabbyy", true)]
    [InlineData("ab+", "ab", true)]
    [InlineData("ab+", "xxayy", false)]
    [InlineData("^ab+", "abz", true)]
    [InlineData("^ab+", "zab", false)]
    [InlineData("ab+$", "zab", true)]
    [InlineData("ab+$", "abz", false)]
    [InlineData("^(a|bc){2}$", "bca", true)]
    [InlineData("^(a|bc){2}$", "abca", false)]
    [InlineData("^[^a-c]\\d\\.$", "z7.", true)]
    [InlineData("^[^a-c]\\d\\.$", "b7.", false)]
    public void Patterns_match_where_json_schema_says(string pattern, string value, bool matches)
    {
        var schema = System.Text.Json.JsonDocument.Parse($$"""{"type": "string", "pattern": {{System.Text.Json.JsonSerializer.Serialize(pattern)}}}""").RootElement;
        var automaton = new ParserAutomaton(Grammar.Compile(JsonSchemaCompiler.Compile(schema)));
        var state = automaton.Initial;
        foreach (byte b in Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(value))) state = automaton.Step(state, b);
        Assert.Equal(matches, state.Accepting);
        Assert.Equal(matches, System.Text.RegularExpressions.Regex.IsMatch(value, pattern));
    }

    /// <summary>All one- and two-character strings over the alphabet, and a few longer ones.</summary>
    private static List<string> SyntheticVocabulary()
    {
        var tokens = Alphabet.Select(c => c.ToString()).ToList();
        foreach (char a in Alphabet)
            foreach (char b in Alphabet)
                tokens.Add($"{a}{b}");
        tokens.AddRange(["abc", "{\"a", "\":1", "dxd", "ab1", "\"}\"", "11}", "bcdd"]);
        return tokens;
    }

    private static string Describe(IEnumerable<int> ids, List<string> vocabulary) =>
        string.Join(" ", ids.Order().Select(id => id < vocabulary.Count ? vocabulary[id] : "<eot>"));

    /// <summary>Every string the expression matches (as Latin-1 text), up to a length and a rule-call depth.</summary>
    private static HashSet<string> Enumerate(GrammarExpr expr, int maxLength, int depth)
    {
        switch (expr)
        {
            case ByteClassExpr bytes:
                return [.. Enumerable.Range(0, 256).Where(b => bytes.Set.Contains((byte)b)).Select(b => ((char)b).ToString())];
            case SequenceExpr sequence:
                HashSet<string> result = [""];
                foreach (var item in sequence.Items)
                {
                    var next = Enumerate(item, maxLength, depth);
                    result = [.. result.SelectMany(a => next.Select(b => a + b)).Where(s => s.Length <= maxLength)];
                }
                return result;
            case ChoiceExpr choice:
                return [.. choice.Options.SelectMany(o => Enumerate(o, maxLength, depth))];
            case RepeatExpr repeat:
                var one = Enumerate(repeat.Item, maxLength, depth);
                HashSet<string> current = [""], all = [];
                for (int k = 0; k <= (repeat.Max ?? maxLength); k++)
                {
                    if (k >= repeat.Min) all.UnionWith(current);
                    current = [.. current.SelectMany(a => one.Select(b => a + b)).Where(s => s.Length <= maxLength)];
                }
                return all;
            case RuleCallExpr call:
                return depth == 0 ? [] : Enumerate(call.Rule.Body!, maxLength, depth - 1);
            default:
                throw new InvalidOperationException(expr.GetType().Name);
        }
    }
}
