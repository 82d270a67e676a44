namespace OlmoeSharp.Constraints;

/// <summary>
/// Patterns for the JSON Schema string formats cheap to express as grammars, each generating only values every
/// format validator accepts (years from 1000, days up to 28, so every date exists; lower-case e-mail addresses with a dotted domain).
/// </summary>
internal static class StringFormats
{
    private const string Date = "[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])";
    private const string Time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";

    /// <summary>The anchored pattern of <paramref name="format"/>, or null for a format this engine does not generate.</summary>
    public static string? Pattern(string format) => format switch
    {
        "date" => $"^{Date}$",
        "time" => $"^{Time}$",
        "date-time" => $"^{Date}T{Time}$",
        "uuid" => "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        "email" => "^[a-z0-9]{1,32}(\\.[a-z0-9]{1,16}){0,2}@[a-z0-9]{1,32}(\\.[a-z0-9]{1,16}){0,2}\\.[a-z]{2,8}$",
        "ipv4" => "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$",
        _ => null,
    };

    /// <summary>The formats <see cref="Pattern"/> knows, for error messages.</summary>
    public const string Known = "date, time, date-time, uuid, email, ipv4";
}
