using System.Text;
using System.Text.Json;
using Json.Schema;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Constraints;

/// <summary>
/// Seeded generations from the tiny random model — gibberish without a constraint — under each schema, in JSON mode
/// and under a GBNF grammar: every one must stop at the end of its document, and parse and validate against the
/// schema with a real validator (JsonSchema.Net, formats asserted), or match the grammar's regular expression.
/// </summary>
public sealed class ConstrainedGenerationTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private const int Generations = 200;
    private const int MaxNewTokens = 32;

    public static TheoryData<string> Schemas => [.. SchemaCases.All.Keys];

    [Theory]
    [MemberData(nameof(Schemas))]
    public async Task Every_seeded_generation_is_a_complete_valid_document(string name)
    {
        string schemaText = SchemaCases.All[name];
        var format = ResponseFormat.ForJsonSchema(schemaText);
        var validator = JsonSchema.FromText(schemaText);
        var evaluation = new EvaluationOptions { RequireFormatValidation = true, OutputFormat = OutputFormat.List };
        await ForEachSeed(format, (seed, text) =>
        {
            using var document = JsonDocument.Parse(text);
            var result = validator.Evaluate(document.RootElement, evaluation);
            Assert.True(result.IsValid, $"seed {seed}: {JsonSerializer.Serialize(text)} fails the schema: {JsonSerializer.Serialize(result)}");
        });
    }

    [Fact]
    public async Task Any_json_mode_generates_documents_that_parse()
    {
        await ForEachSeed(ResponseFormat.Json, (_, text) => JsonDocument.Parse(text).Dispose());
    }

    [Fact]
    public async Task A_document_longer_in_bytes_than_the_token_limit_fits_when_its_tokens_do()
    {
        const string sentence = "the quick brown fox jumps over the lazy dog, again and again and again";
        var format = ResponseFormat.ForJsonSchema("""{"type": "object", "required": ["s"], "additionalProperties": false, "properties": {"s": {"const": "SENTENCE"}}}""".Replace("SENTENCE", sentence));
        var generator = new TextGenerator(fixture.Model);
        var (text, finish) = await Generate(generator, new GenerationOptions { ResponseFormat = format, Seed = 1, MaxNewTokens = 30 });
        Assert.True(text.Length > 30 + 20, text);
        Assert.Equal(FinishReason.Stop, finish);
        using var document = JsonDocument.Parse(text);
        Assert.Equal(sentence, document.RootElement.GetProperty("s").GetString());
    }

    [Fact]
    public async Task A_gbnf_grammar_generates_only_its_sentences()
    {
        var format = ResponseFormat.ForGrammar("""
            root ::= answer (", " number){0,3} "."
            answer ::= "yes" | "no" | "maybe"
            number ::= [1-9] [0-9]{0,2}
            """);
        var sentence = new System.Text.RegularExpressions.Regex(@"^(yes|no|maybe)(, [1-9][0-9]{0,2}){0,3}\.$");
        await ForEachSeed(format, (seed, text) => Assert.True(sentence.IsMatch(text), $"seed {seed}: {JsonSerializer.Serialize(text)}"));
    }

    /// <summary>
    /// Runs the seeded generations, two at a time on single-threaded forward passes (the tiny model gains nothing
    /// from splitting one), checks each stopped at the end of its document and hands its text to <paramref name="check"/>.
    /// </summary>
    private async Task ForEachSeed(ResponseFormat format, Action<int, string> check)
    {
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Threads = 1 });
        var generator = new TextGenerator(model);
        await Parallel.ForAsync(0, Generations, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (seed, _) =>
        {
            var (text, finish) = await Generate(generator, new GenerationOptions { ResponseFormat = format, Seed = (ulong)seed, Temperature = 1f, MaxNewTokens = MaxNewTokens });
            Assert.True(finish == FinishReason.Stop, $"seed {seed}: finished with {finish}: {JsonSerializer.Serialize(text)}");
            check(seed, text);
        });
    }

    internal static async Task<(string Text, FinishReason? Finish)> Generate(TextGenerator generator, GenerationOptions options, string prompt = "The answer, as JSON:")
    {
        var text = new StringBuilder();
        FinishReason? finish = null;
        await foreach (var update in generator.GenerateAsync(prompt, options))
        {
            text.Append(update.Text);
            finish = update.FinishReason ?? finish;
        }
        return (text.ToString(), finish);
    }
}
