using System.Runtime.CompilerServices;
using System.Text.Json;
using OlmoeSharp.Constraints;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Generation;

/// <summary>
/// The shape generated text must have: free text, any JSON value, a JSON document matching a JSON Schema, or text
/// matching a GBNF grammar. A constrained generation allows at each step only the tokens that keep the text a
/// prefix of a valid document (constrained decoding: the logits of the others become −∞ before sampling), stops
/// with <see cref="FinishReason.Stop"/> when the document is complete, and allows end-of-text only there. It also
/// keeps the document finishable within <see cref="GenerationOptions.MaxNewTokens"/>: near the limit only tokens
/// that can still close it in the tokens left are allowed, so the output always parses; a format whose shortest
/// document takes more tokens than the limit is refused with an <see cref="ArgumentException"/> before generating.
/// <para>
/// Schemas and grammars are compiled when the format is created: an unsupported keyword or construct, or a schema
/// nothing satisfies, throws <see cref="ResponseFormatException"/> here, before anything is generated. Create a
/// format once and reuse it: it caches, per tokenizer, the allowed tokens of each parser state it meets, so later
/// generations mask from the cache. Thread-safe.
/// </para>
/// </summary>
public sealed class ResponseFormat
{
    private readonly Grammar? _grammar;
    private readonly ConditionalWeakTable<TokenTrie, TokenMasker> _maskers = new();

    private ResponseFormat(ResponseFormatKind kind, string? definition, Grammar? grammar)
    {
        Kind = kind;
        Definition = definition;
        _grammar = grammar;
    }

    /// <summary>Free text (the default).</summary>
    public static ResponseFormat Text { get; } = new(ResponseFormatKind.Text, null, null);

    /// <summary>Any JSON value (objects and arrays nest without limit; whitespace runs are at most 12 bytes long).</summary>
    public static ResponseFormat Json { get; } = new(ResponseFormatKind.Json, null, Grammar.Compile(JsonGrammar.Value));

    /// <summary>What is constrained.</summary>
    public ResponseFormatKind Kind { get; }

    /// <summary>The schema's JSON text or the grammar's text; null for <see cref="Text"/> and <see cref="Json"/>.</summary>
    public string? Definition { get; }

    /// <summary>
    /// JSON documents matching <paramref name="schema"/>. Supported: type (and type lists), properties, required,
    /// additionalProperties (false; otherwise only the listed properties are generated), enum, const, anyOf, $ref
    /// within the schema (recursion too), items, minItems, maxItems, minLength, maxLength, pattern (classes,
    /// quantifiers, groups, alternation, anchors), format (date, time, date-time, uuid, email, ipv4), minimum,
    /// maximum, exclusiveMinimum, exclusiveMaximum (whole-number bounds for numbers), and annotations (title,
    /// description, default, examples, $schema, …), which are ignored. Generated documents are in a subset of what
    /// the schema accepts: properties in the schema's order, numbers without exponent within ±(10^15 − 1), integers
    /// without bounds within the range of a 32-bit int.
    /// </summary>
    /// <exception cref="ResponseFormatException">The schema uses an unsupported keyword, or nothing satisfies it; the message names the keyword's location.</exception>
    public static ResponseFormat ForJsonSchema(JsonElement schema) =>
        new(ResponseFormatKind.JsonSchema, schema.GetRawText(), Grammar.Compile(JsonSchemaCompiler.Compile(schema)));

    /// <summary>JSON documents matching the schema given as JSON text.</summary>
    /// <exception cref="ResponseFormatException">The text is not JSON, the schema uses an unsupported keyword, or nothing satisfies it.</exception>
    public static ResponseFormat ForJsonSchema(string schemaJson)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(schemaJson);
        }
        catch (JsonException e)
        {
            throw new ResponseFormatException("#", $"the schema is not valid JSON ({e.Message}).");
        }
        using (document) return ForJsonSchema(document.RootElement);
    }

    /// <summary>
    /// Text matching a grammar in llama.cpp's GBNF notation (<c>root ::= …</c>; literals, character classes,
    /// groups, alternatives, <c>* + ? {n,m}</c>).
    /// </summary>
    /// <exception cref="ResponseFormatException">The grammar is malformed, refers to an undefined rule, is left-recursive, or matches nothing.</exception>
    public static ResponseFormat ForGrammar(string gbnf)
    {
        ArgumentNullException.ThrowIfNull(gbnf);
        return new ResponseFormat(ResponseFormatKind.Grammar, gbnf, Grammar.Compile(GbnfParser.Parse(gbnf)));
    }

    /// <summary>A format over an already-built grammar (the chat client's tool-call replies).</summary>
    internal static ResponseFormat ForGrammar(GrammarExpr grammar, string description) =>
        new(ResponseFormatKind.Grammar, description, Grammar.Compile(grammar));

    /// <summary>The constraint of one generation; null for free text.</summary>
    internal TokenConstraint? CreateConstraint(OlmoeTokenizer tokenizer, IEnumerable<int> endOfText) =>
        _grammar is null ? null : new TokenConstraint(Masker(TokenTrie.For(tokenizer)), endOfText);

    internal TokenMasker Masker(TokenTrie trie) => _maskers.GetValue(trie, t => new TokenMasker(_grammar!, t));
}
