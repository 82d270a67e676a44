using System.Text.Json;
using OlmoeSharp.IO;

namespace OlmoeSharp.Model;

/// <summary>Typed, validating access to the fields of an untrusted config.json. Dispose it to return the parser's buffers.</summary>
internal sealed class ConfigJsonReader : IDisposable
{
    public const long MaxFileBytes = 1 << 20;

    private readonly JsonDocument _document;
    private readonly JsonElement _root;
    private readonly string _source;

    private ConfigJsonReader(JsonDocument document, string source)
    {
        _document = document;
        _root = document.RootElement;
        _source = source;
    }

    public static ConfigJsonReader Open(ReadOnlyMemory<byte> json, string source)
    {
        if (json.Length > MaxFileBytes) throw new ModelFormatException(source, $"config is {json.Length} bytes; at most {MaxFileBytes} are accepted.");
        var document = UntrustedJson.Parse(json, source, maxDepth: 32);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new ModelFormatException(source, $"the top level is a JSON {kind}, not an object.");
        }
        return new ConfigJsonReader(document, source);
    }

    public void Dispose() => _document.Dispose();

    public int RequiredInt(string name) =>
        OptionalInt(name) ?? throw new ModelFormatException(_source, "required field is missing.", name);

    public int? OptionalInt(string name) => Present(name) is { } e ? AsInt(e, name) : null;

    public bool? OptionalBool(string name) => Present(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        var e => throw Mistyped(name, "true or false", e.Value),
    };

    public float? OptionalFloat(string name) => Present(name) is { } e ? AsFloat(e, name) : null;

    public string? OptionalString(string name) => Present(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } e => e.GetString(),
        var e => throw Mistyped(name, "a string", e.Value),
    };

    /// <summary>eos_token_id may be one id or a list of them.</summary>
    public IReadOnlyList<int> OptionalIntOrIntArray(string name)
    {
        switch (Present(name))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.Array } array:
                var ids = new List<int>();
                foreach (var item in array.EnumerateArray()) ids.Add(AsInt(item, name));
                return ids;
            case var single:
                return [AsInt(single.Value, name)];
        }
    }

    /// <summary>rope_theta at the top level (older configs) or inside rope_parameters (newer ones); both must agree.</summary>
    public float? RopeTheta()
    {
        float? top = Present("rope_theta") is { } t ? AsFloat(t, "rope_theta") : null;
        float? nested = null;
        if (Present("rope_parameters") is { } parameters)
        {
            if (parameters.ValueKind != JsonValueKind.Object) throw Mistyped("rope_parameters", "an object", parameters);
            if (parameters.TryGetProperty("rope_theta", out var theta) && theta.ValueKind != JsonValueKind.Null)
                nested = AsFloat(theta, "rope_parameters.rope_theta");
        }
        if (top is not null && nested is not null && top != nested)
            throw new ModelFormatException(_source, $"is {top} but rope_parameters.rope_theta is {nested}.", "rope_theta");
        return top ?? nested;
    }

    /// <summary>Refuses settings the engine would otherwise silently ignore and so compute the wrong thing.</summary>
    public void RejectUnsupported()
    {
        foreach (string name in (ReadOnlySpan<string>)["rope_scaling", "rope_parameters"])
        {
            if (Present(name) is not { } scaling) continue;
            if (scaling.ValueKind != JsonValueKind.Object) throw Mistyped(name, "an object or null", scaling);
            CheckRopeType(scaling, name);
        }
        if (OptionalBool("attention_bias") == true)
            throw new ModelFormatException(_source, "attention biases are not supported (OLMoE has none).", "attention_bias");
        if (OptionalString("hidden_act") is { } act && act != "silu")
            throw new ModelFormatException(_source, $"activation \"{act}\" is not supported; OLMoE uses \"silu\".", "hidden_act");
    }

    private void CheckRopeType(JsonElement element, string name)
    {
        foreach (var key in (ReadOnlySpan<string>)["rope_type", "type"])
        {
            if (!element.TryGetProperty(key, out var type) || type.ValueKind == JsonValueKind.Null) continue;
            if (type.ValueKind != JsonValueKind.String) throw Mistyped($"{name}.{key}", "a string", type);
            if (type.GetString() != "default")
                throw new ModelFormatException(_source, $"RoPE scaling \"{type.GetString()}\" is not supported; only the default rotary embedding is.", name);
        }
    }

    private JsonElement? Present(string name) =>
        _root.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? e : null;

    private int AsInt(JsonElement e, string name)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int value)) return value;
        throw Mistyped(name, "a 32-bit integer", e);
    }

    private float AsFloat(JsonElement e, string name)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double value) && double.IsFinite(value)) return (float)value;
        throw Mistyped(name, "a finite number", e);
    }

    private ModelFormatException Mistyped(string name, string expected, JsonElement? actual)
    {
        string shown = actual is { } a ? UntrustedJson.Excerpt(a) : "nothing";
        return new ModelFormatException(_source, $"expected {expected}, found {shown}.", name);
    }
}
