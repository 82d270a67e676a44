using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>OpenAI's error shape: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed class ErrorResponse
{
    public required ErrorBody Error { get; init; }
}

/// <summary>What went wrong; <see cref="Param"/> names the request field at fault (null when none is).</summary>
internal sealed class ErrorBody
{
    public required string Message { get; init; }
    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}
