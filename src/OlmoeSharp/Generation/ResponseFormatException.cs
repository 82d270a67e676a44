namespace OlmoeSharp.Generation;

/// <summary>
/// A JSON Schema, regular expression or grammar that cannot constrain generation: unsupported (a keyword or
/// construct this engine does not implement) or unsatisfiable (no document could match it). Thrown when the
/// response format is created, before anything is generated.
/// </summary>
public sealed class ResponseFormatException : ArgumentException
{
    /// <param name="location">Where: a JSON pointer into the schema (<c>#/properties/age/minimum</c>), a pattern and offset, or a grammar rule and line.</param>
    /// <param name="reason">What is wrong there.</param>
    public ResponseFormatException(string location, string reason)
        : base($"{location}: {reason}")
    {
        Location = location;
        Reason = reason;
    }

    /// <summary>Where the problem is (a JSON pointer into the schema, or a place in the pattern or grammar).</summary>
    public string Location { get; }

    /// <summary>What the problem is.</summary>
    public string Reason { get; }
}
