using System.Text.Json;
using System.Text;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Constraints;

/// <summary>
/// Compiles a JSON Schema into the grammar of the documents it accepts — or a subset of them, where the whole set
/// cannot be generated safely: properties come in the schema's order, only the listed properties are generated
/// (unless the object lists none), numbers have no exponent and stay within ±(10^15 − 1) (integers without a bound
/// within the range of a 32-bit int, which .NET types' schemas mean by "integer"), and the first minLength
/// characters of a string are printable ASCII (so a validator counting grapheme clusters counts them all).
/// Keywords that restrict documents in ways this engine does not implement (allOf, oneOf, not, uniqueItems,
/// multipleOf, patternProperties, …) are refused with their location, as are schemas no document satisfies.
/// </summary>
internal sealed class JsonSchemaCompiler
{
    private const int MaxCount = 10_000;

    private static readonly string[] Unsupported =
    [
        "allOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "dependentRequired", "dependencies",
        "patternProperties", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains", "minContains",
        "maxContains", "multipleOf", "minProperties", "maxProperties", "prefixItems", "additionalItems", "$dynamicRef",
        "$recursiveRef",
    ];

    private static readonly JsonElement TrueSchema = JsonDocument.Parse("true").RootElement;

    private readonly JsonElement _root;
    private readonly Dictionary<string, RuleSlot> _references = [];

    private JsonSchemaCompiler(JsonElement root) => _root = root;

    /// <summary>The grammar of the documents <paramref name="schema"/> accepts (no whitespace around the value).</summary>
    /// <exception cref="ResponseFormatException">The schema uses an unsupported keyword, or nothing satisfies it.</exception>
    public static GrammarExpr Compile(JsonElement schema) => new JsonSchemaCompiler(schema).Schema(schema, "#");

    private static ResponseFormatException Unsatisfiable(string location, string reason) => new(location, "unsatisfiable: " + reason);

    private static ResponseFormatException NotSupported(string location, string reason) => new(location, "not supported: " + reason);

    private GrammarExpr Schema(JsonElement schema, string path)
    {
        if (schema.ValueKind == JsonValueKind.True) return JsonGrammar.Value;
        if (schema.ValueKind == JsonValueKind.False) throw Unsatisfiable(path, "the schema false accepts nothing.");
        if (schema.ValueKind != JsonValueKind.Object) throw new ResponseFormatException(path, "a schema must be an object or a boolean.");

        foreach (string keyword in Unsupported)
            if (schema.TryGetProperty(keyword, out var value) && !(keyword == "allOf" && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0))
                throw NotSupported($"{path}/{keyword}", $"the keyword {keyword} is not implemented by the constraint engine.");
        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True)
            throw NotSupported($"{path}/uniqueItems", "uniqueItems: true is not implemented by the constraint engine.");

        if (schema.TryGetProperty("$ref", out var reference)) return Reference(reference, $"{path}/$ref");
        if (schema.TryGetProperty("const", out var constant)) return GrammarExpr.Literal(Canonical(constant));
        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array) throw new ResponseFormatException($"{path}/enum", "enum must be an array.");
            if (values.GetArrayLength() == 0) throw Unsatisfiable($"{path}/enum", "the enum is empty.");
            return GrammarExpr.Choice([.. values.EnumerateArray().Select(Canonical).Distinct().Select(GrammarExpr.Literal)]);
        }
        if (schema.TryGetProperty("anyOf", out var anyOf))
        {
            if (anyOf.ValueKind != JsonValueKind.Array || anyOf.GetArrayLength() == 0) throw new ResponseFormatException($"{path}/anyOf", "anyOf must be a non-empty array.");
            if (schema.TryGetProperty("type", out _)) throw NotSupported($"{path}/anyOf", "anyOf beside type: put the type in each alternative.");
            var options = new List<GrammarExpr>();
            ResponseFormatException? last = null;
            int index = 0;
            foreach (var option in anyOf.EnumerateArray())
            {
                try
                {
                    options.Add(Schema(option, $"{path}/anyOf/{index++}"));
                }
                catch (ResponseFormatException e) when (e.Reason.StartsWith("unsatisfiable", StringComparison.Ordinal))
                {
                    last = e; // an alternative nothing satisfies just drops out
                }
            }
            return options.Count > 0 ? GrammarExpr.Choice([.. options]) : throw last!;
        }

        var types = Types(schema, path);
        var alternatives = types.Select(type => type switch
        {
            "object" => Object(schema, path),
            "array" => Array(schema, path),
            "string" => String(schema, path),
            "integer" => Integer(schema, path),
            "number" => Number(schema, path),
            "boolean" => JsonGrammar.Boolean,
            "null" => JsonGrammar.Null,
            _ => throw new ResponseFormatException($"{path}/type", $"unknown type \"{type}\"."),
        });
        return GrammarExpr.Choice([.. alternatives]);
    }

    /// <summary>The declared types, or the ones the keywords present imply (all of them when none do).</summary>
    private static List<string> Types(JsonElement schema, string path)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String) return [type.GetString()!];
            if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0 && type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String))
                return [.. type.EnumerateArray().Select(t => t.GetString()!).Distinct()];
            throw new ResponseFormatException($"{path}/type", "type must be a string or a non-empty array of strings.");
        }
        var implied = new List<string>();
        if (Has(schema, "properties", "required", "additionalProperties")) implied.Add("object");
        if (Has(schema, "items", "minItems", "maxItems")) implied.Add("array");
        if (Has(schema, "minLength", "maxLength", "pattern", "format")) implied.Add("string");
        if (Has(schema, "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) implied.Add("number");
        return implied.Count > 0 ? implied : ["object", "array", "string", "number", "boolean", "null"];
    }

    private static bool Has(JsonElement schema, params string[] keywords) => keywords.Any(k => schema.TryGetProperty(k, out _));

    private GrammarExpr Reference(JsonElement reference, string path)
    {
        string target = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : throw new ResponseFormatException(path, "$ref must be a string.");
        if (_references.TryGetValue(target, out var known)) return known.Call();
        if (!target.StartsWith('#')) throw NotSupported(path, $"only references within the schema (#/…) are supported, not \"{target}\".");
        var node = _root;
        foreach (string part in target[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = Uri.UnescapeDataString(part).Replace("~1", "/").Replace("~0", "~");
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(name, out var child)) node = child;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(name, out int i) && i >= 0 && i < node.GetArrayLength()) node = node[i];
            else throw new ResponseFormatException(path, $"\"{target}\" points at nothing in the schema.");
        }
        // The slot is registered before its body is compiled, so recursive schemas become recursive rules.
        var slot = new RuleSlot(target);
        _references[target] = slot;
        slot.Body = Schema(node, target);
        return slot.Call();
    }

    private GrammarExpr Object(JsonElement schema, string path)
    {
        bool closed = schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False;
        if (additional.ValueKind == JsonValueKind.Object && additional.EnumerateObject().Any())
            throw NotSupported($"{path}/additionalProperties", "a schema for additional properties; list the properties instead.");

        var members = new List<(string Name, JsonElement Schema, string Path)>();
        if (schema.TryGetProperty("properties", out var properties))
        {
            if (properties.ValueKind != JsonValueKind.Object) throw new ResponseFormatException($"{path}/properties", "properties must be an object.");
            foreach (var property in properties.EnumerateObject()) members.Add((property.Name, property.Value, $"{path}/properties/{property.Name}"));
        }
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var requiredList))
        {
            if (requiredList.ValueKind != JsonValueKind.Array) throw new ResponseFormatException($"{path}/required", "required must be an array of strings.");
            foreach (var name in requiredList.EnumerateArray())
            {
                string n = name.GetString() ?? throw new ResponseFormatException($"{path}/required", "required must be an array of strings.");
                required.Add(n);
                if (members.All(m => m.Name != n))
                {
                    if (closed) throw Unsatisfiable($"{path}/required", $"\"{n}\" is required but additionalProperties is false and it is not among the properties.");
                    members.Add((n, TrueSchema, $"{path}/required"));
                }
            }
        }
        if (members.Count == 0 && !closed) return JsonGrammar.Object;

        var compiled = new List<(GrammarExpr Member, bool Required)>();
        foreach (var (name, memberSchema, memberPath) in members)
        {
            bool isRequired = required.Contains(name);
            if (memberSchema.ValueKind == JsonValueKind.False)
            {
                if (isRequired) throw Unsatisfiable(memberPath, $"\"{name}\" is required but its schema is false.");
                continue;
            }
            GrammarExpr value;
            try
            {
                value = Schema(memberSchema, memberPath);
            }
            catch (ResponseFormatException e) when (!isRequired && e.Reason.StartsWith("unsatisfiable", StringComparison.Ordinal))
            {
                continue; // an optional property nothing satisfies is simply left out
            }
            var member = GrammarExpr.Sequence(GrammarExpr.Literal(Canonical(name)), JsonGrammar.Whitespace, GrammarExpr.Literal(":"), JsonGrammar.Whitespace, value, JsonGrammar.Whitespace);
            compiled.Add((member, isRequired));
        }

        // Members in order, any optional one left out: Rest(i, afterOne) is the tail from member i, with a comma
        // before the next member when one was written already.
        var rests = new GrammarExpr?[compiled.Count + 1, 2];
        GrammarExpr Rest(int i, bool afterOne)
        {
            if (rests[i, afterOne ? 1 : 0] is { } done) return done;
            GrammarExpr result;
            if (i == compiled.Count) result = GrammarExpr.Empty;
            else
            {
                var (member, isRequired) = compiled[i];
                var with = GrammarExpr.Sequence(afterOne ? GrammarExpr.Sequence(GrammarExpr.Literal(","), JsonGrammar.Whitespace) : GrammarExpr.Empty, member, Rest(i + 1, true));
                result = isRequired ? with : GrammarExpr.Choice(with, Rest(i + 1, afterOne));
            }
            return rests[i, afterOne ? 1 : 0] = result;
        }
        for (int i = compiled.Count; i >= 0; i--)
        {
            Rest(i, true);
            Rest(i, false);
        }
        return GrammarExpr.Sequence(GrammarExpr.Literal("{"), JsonGrammar.Whitespace, Rest(0, false), GrammarExpr.Literal("}"));
    }

    private GrammarExpr Array(JsonElement schema, string path)
    {
        int min = Count(schema, "minItems", path) ?? 0;
        int? max = Count(schema, "maxItems", path);
        if (max < min) throw Unsatisfiable($"{path}/maxItems", $"maxItems {max} is below minItems {min}.");
        GrammarExpr item = JsonGrammar.Value;
        if (schema.TryGetProperty("items", out var items))
        {
            if (items.ValueKind == JsonValueKind.Array) throw NotSupported($"{path}/items", "items as an array (tuples); use one schema for every item.");
            if (items.ValueKind == JsonValueKind.False)
            {
                if (min > 0) throw Unsatisfiable($"{path}/items", "items is false but minItems is above 0.");
                max = 0;
            }
            else
            {
                try
                {
                    item = Schema(items, $"{path}/items");
                }
                catch (ResponseFormatException e) when (min == 0 && e.Reason.StartsWith("unsatisfiable", StringComparison.Ordinal))
                {
                    max = 0; // no item can be written, but the empty array is fine
                }
            }
        }
        return JsonGrammar.ArrayOf(item, min, max);
    }

    private static GrammarExpr String(JsonElement schema, string path)
    {
        int min = Count(schema, "minLength", path) ?? 0;
        int? max = Count(schema, "maxLength", path);
        if (max < min) throw Unsatisfiable($"{path}/maxLength", $"maxLength {max} is below minLength {min}.");
        bool lengths = min > 0 || max is not null;
        string? pattern = null;
        string patternPath = $"{path}/pattern";
        if (schema.TryGetProperty("pattern", out var p))
            pattern = p.ValueKind == JsonValueKind.String ? p.GetString() : throw new ResponseFormatException(patternPath, "pattern must be a string.");
        if (schema.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String && StringFormats.Pattern(f.GetString()!) is { } formatPattern)
        {
            if (pattern is not null) throw NotSupported($"{path}/format", "format together with pattern.");
            (pattern, patternPath) = (formatPattern, $"{path}/format");
        }
        if (pattern is null) return JsonGrammar.StringOfLength(min, max);
        if (lengths) throw NotSupported($"{path}/minLength", "minLength or maxLength together with a pattern or format; put the length in the pattern.");
        return GrammarExpr.Sequence(JsonGrammar.Quote, RegexCompiler.Compile(pattern, patternPath), JsonGrammar.Quote);
    }

    private static GrammarExpr Integer(JsonElement schema, string path)
    {
        var (min, minExclusive) = Bound(schema, "minimum", "exclusiveMinimum", path, integer: true, lower: true);
        var (max, maxExclusive) = Bound(schema, "maximum", "exclusiveMaximum", path, integer: true, lower: false);
        long first = minExclusive ? min + 1 : min, last = maxExclusive ? max - 1 : max;
        // Without a bound, integers stay in what an int holds: schemas made from .NET types say "integer" for int.
        if (!Has(schema, "minimum", "exclusiveMinimum")) first = int.MinValue;
        if (!Has(schema, "maximum", "exclusiveMaximum")) last = int.MaxValue;
        if (first > last) throw Unsatisfiable(path, "no integer lies between the minimum and the maximum.");
        return DecimalRange.Integers(first, last);
    }

    private static GrammarExpr Number(JsonElement schema, string path)
    {
        var (min, minExclusive) = Bound(schema, "minimum", "exclusiveMinimum", path, integer: false, lower: true);
        var (max, maxExclusive) = Bound(schema, "maximum", "exclusiveMaximum", path, integer: false, lower: false);
        if (min > max || (min == max && (minExclusive || maxExclusive))) throw Unsatisfiable(path, "no number lies between the minimum and the maximum.");
        return DecimalRange.Numbers(min, minExclusive, max, maxExclusive);
    }

    /// <summary>
    /// The tighter of the inclusive and exclusive bound, as a whole number: integers round fractional bounds inward;
    /// numbers need whole-number bounds. No bound: ±<see cref="DecimalRange.MaxMagnitude"/>.
    /// </summary>
    private static (long Value, bool Exclusive) Bound(JsonElement schema, string inclusive, string exclusive, string path, bool integer, bool lower)
    {
        long value = lower ? -DecimalRange.MaxMagnitude : DecimalRange.MaxMagnitude;
        bool isExclusive = false;
        foreach (var (keyword, strict) in new[] { (inclusive, false), (exclusive, true) })
        {
            if (!schema.TryGetProperty(keyword, out var bound)) continue;
            string location = $"{path}/{keyword}";
            if (bound.ValueKind != JsonValueKind.Number || !bound.TryGetDecimal(out decimal d))
                throw new ResponseFormatException(location, $"{keyword} must be a number.");
            if (Math.Abs(d) > DecimalRange.MaxMagnitude) throw NotSupported(location, $"bounds beyond ±{DecimalRange.MaxMagnitude}.");
            bool exact = decimal.Truncate(d) == d;
            if (!exact && !integer) throw NotSupported(location, "a number bound that is not a whole number.");
            long whole = (long)(exact ? d : lower ? decimal.Ceiling(d) : decimal.Floor(d));
            bool thisExclusive = strict && exact;
            // Keep whichever bound is tighter (an exclusive one wins a tie).
            bool tighter = lower ? whole > value || (whole == value && thisExclusive) : whole < value || (whole == value && thisExclusive);
            if (tighter) (value, isExclusive) = (whole, thisExclusive);
        }
        return (value, isExclusive);
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out decimal d) || d < 0 || decimal.Truncate(d) != d)
            throw new ResponseFormatException($"{path}/{keyword}", $"{keyword} must be a non-negative integer.");
        if (d > MaxCount) throw NotSupported($"{path}/{keyword}", $"{keyword} above {MaxCount}.");
        return (int)d;
    }

    /// <summary>The compact JSON text of a value, as it is generated.</summary>
    private static string Canonical(JsonElement value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            value.WriteTo(writer);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Canonical(string text) => JsonSerializer.Serialize(text, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
