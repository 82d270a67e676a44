namespace OlmoeSharp.Generation;

/// <summary>What a <see cref="ResponseFormat"/> constrains the output to.</summary>
public enum ResponseFormatKind
{
    /// <summary>Free text: no constraint.</summary>
    Text,

    /// <summary>Any JSON value.</summary>
    Json,

    /// <summary>A JSON document matching a JSON Schema.</summary>
    JsonSchema,

    /// <summary>Text matching a GBNF grammar.</summary>
    Grammar,
}
