using BenchmarkDotNet.Attributes;
using OlmoeSharp.Constraints;
using OlmoeSharp.Generation;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// The cost constrained decoding adds to a decode step, on OLMoE's real vocabulary (50,280 tokens, masking the
/// model's 50,304 logits) under a JSON Schema, inside a string value — the state where the most tokens stay allowed,
/// so the trie walk visits the most nodes. <c>MaskedStep</c> is what each generated token pays in steady state
/// (mask from the state's cache, applied to the logits, then the token followed); <c>UncachedMask</c> recomputes the
/// mask (first visit of a state: the trie walk, over transitions already known — the same walk runs near the token
/// limit, where the mask also keeps the document finishable); <c>ColdFormat</c> is a new format's first mask, every
/// automaton transition computed afresh.
/// </summary>
[ShortRunJob]
[MemoryDiagnoser]
public class ConstraintBenchmarks
{
    private const string Schema = """
        {"type": "object", "additionalProperties": false, "required": ["name", "age", "tags"],
         "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150},
                        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "maxItems": 5}}}
        """;

    private readonly float[] _logits = new float[50_304];
    private OlmoeTokenizer _tokenizer = null!;
    private TokenTrie _trie = null!;
    private TokenMasker _masker = null!;
    private ParserState _inString = null!;
    private TokenConstraint _constraint = null!;
    private ulong[] _scratch = null!;
    private int _letterToken;

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = OlmoeTokenizer.Load(TokenizerBenchmarks.FindTokenizer());
        _trie = TokenTrie.For(_tokenizer);
        _masker = ResponseFormat.ForJsonSchema(Schema).Masker(_trie);
        _inString = _masker.Initial;
        foreach (int id in _tokenizer.Encode("{\"name\": \"Ada")) _inString = _masker.Advance(_inString, id);
        _scratch = new ulong[_masker.MaskWords];
        _letterToken = _tokenizer.Encode("a")[0];
        _constraint = new TokenConstraint(_masker, [_tokenizer.EndOfTextId]);
        foreach (int id in _tokenizer.Encode("{\"name\": \"Ada")) _constraint.Advance(id);
    }

    [Benchmark(Baseline = true)]
    public void MaskedStep()
    {
        _constraint.Mask(_logits, 1000);
        _constraint.Advance(_letterToken);
    }

    [Benchmark]
    public int UncachedMask()
    {
        _inString.Mask = null;
        return _masker.Allowed(_inString, 1000, _scratch).Length;
    }

    [Benchmark]
    public int ColdFormat()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(Schema);
        var masker = new TokenMasker(Grammar.Compile(JsonSchemaCompiler.Compile(schema.RootElement)), _trie);
        return masker.Allowed(masker.Initial, 1000, _scratch).Length;
    }
}
