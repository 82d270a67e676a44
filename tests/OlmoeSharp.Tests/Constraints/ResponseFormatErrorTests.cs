using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Constraints;

/// <summary>Schemas and grammars that cannot constrain generation are refused when the format is made, naming where.</summary>
public sealed class ResponseFormatErrorTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    [Theory]
    [InlineData("""{"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}]}}}""", "#/properties/a/oneOf", "not supported")]
    [InlineData("""{"type": "array", "uniqueItems": true}""", "#/uniqueItems", "not supported")]
    [InlineData("""{"type": "integer", "multipleOf": 3}""", "#/multipleOf", "not supported")]
    [InlineData("""{"type": "number", "minimum": 0.5}""", "#/minimum", "not supported")]
    [InlineData("""{"type": "string", "pattern": "(a)\\1"}""", "#/pattern", "not supported")]
    [InlineData("""{"type": "string", "pattern": "a(?=b)"}""", "#/pattern", "lookaround")]
    [InlineData("""{"type": "object", "additionalProperties": {"type": "integer"}}""", "#/additionalProperties", "not supported")]
    [InlineData("""{"$ref": "https://example.com/schema"}""", "#/$ref", "not supported")]
    [InlineData("""{"type": "integer", "minimum": 5, "maximum": 4}""", "#", "unsatisfiable")]
    [InlineData("""{"type": "number", "exclusiveMinimum": 2, "maximum": 2}""", "#", "unsatisfiable")]
    [InlineData("""{"type": "string", "minLength": 3, "maxLength": 2}""", "#/maxLength", "unsatisfiable")]
    [InlineData("""{"type": "array", "minItems": 3, "maxItems": 1}""", "#/maxItems", "unsatisfiable")]
    [InlineData("""{"enum": []}""", "#/enum", "unsatisfiable")]
    [InlineData("""{"type": "object", "required": ["x"], "additionalProperties": false}""", "#/required", "unsatisfiable")]
    [InlineData("""{"type": "object", "required": ["x"], "properties": {"x": false}}""", "#/properties/x", "unsatisfiable")]
    [InlineData("""{"anyOf": [false, {"type": "integer", "minimum": 1, "maximum": 0}]}""", "#/anyOf/1", "unsatisfiable")]
    [InlineData("""{"type": "color"}""", "#/type", "unknown type")]
    [InlineData("""{"type": "object", "properties": {"deep": {"type": "array", "items": {"type": "string", "maxLength": -1}}}}""", "#/properties/deep/items/maxLength", "non-negative")]
    public void Unsupported_or_unsatisfiable_schemas_are_refused_naming_the_keyword(string schema, string location, string reason)
    {
        var error = Assert.Throws<ResponseFormatException>(() => ResponseFormat.ForJsonSchema(schema));
        Assert.Equal(location, error.Location);
        Assert.Contains(reason, error.Message);
    }

    [Theory]
    [InlineData("item ::= \"a\"", "no rule named root")]
    [InlineData("root ::= item", "never defined")]
    [InlineData("root ::= root \"a\" | \"b\"", "left-recursive")]
    [InlineData("root ::= x\nx ::= y \"a\"\ny ::= x | \"b\"", "left-recursive")]
    [InlineData("root ::= \"a\nroot2 ::= \"b\"", "unterminated")]
    [InlineData("root ::= [b-a]", "backwards")]
    [InlineData("root ::= \"a\"\nroot ::= \"b\"", "defined twice")]
    [InlineData("root ::= [^\\x00-\\U0010FFFF]", "no text can match")]
    public void Broken_grammars_are_refused(string gbnf, string reason)
    {
        var error = Assert.Throws<ResponseFormatException>(() => ResponseFormat.ForGrammar(gbnf));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Tail_recursion_and_nullable_repetition_are_accepted()
    {
        ResponseFormat.ForGrammar("root ::= \"a\" root | \"b\"");
        ResponseFormat.ForGrammar("root ::= (\"a\"?)* \"b\"");
    }

    [Fact]
    public async Task A_document_longer_than_the_token_limit_is_refused_before_generating()
    {
        var format = ResponseFormat.ForJsonSchema("""{"const": "a long constant string that needs many tokens"}""");
        var generator = new TextGenerator(fixture.Model);
        int updates = 0;
        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in generator.GenerateAsync("Hi", new GenerationOptions { ResponseFormat = format, MaxNewTokens = 5 })) updates++;
        });
        Assert.Equal(0, updates);
    }

    [Fact]
    public void Ignoring_end_of_text_cannot_be_combined_with_a_constraint()
    {
        var options = new GenerationOptions { ResponseFormat = ResponseFormat.Json, IgnoreEndOfText = true };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(nameof(GenerationOptions.IgnoreEndOfText), error.ParamName);
    }
}
