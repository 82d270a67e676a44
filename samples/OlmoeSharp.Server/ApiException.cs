using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary>
/// A request the server answers with an error in OpenAI's shape: the HTTP status, the message, the error type and
/// code, and the request field at fault. Thrown by validation and admission before any sequence starts.
/// </summary>
internal sealed class ApiException(int status, string message, string? param = null, string? code = null, string? type = null) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The request field at fault, as the client spelled it (<c>messages[1].role</c>), or null.</summary>
    public string? Param { get; } = param;

    public string? Code { get; } = code;

    /// <summary>Seconds after which a retry may succeed (429), sent as <c>Retry-After</c>.</summary>
    public int? RetryAfterSeconds { get; init; }

    public string Type { get; } = type ?? status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>400 naming the field.</summary>
    public static ApiException BadField(string param, string message) => new(400, message, param, "invalid_value");

    public ErrorResponse ToResponse() => new() { Error = new ErrorBody { Message = Message, Type = Type, Param = Param, Code = Code } };
}
