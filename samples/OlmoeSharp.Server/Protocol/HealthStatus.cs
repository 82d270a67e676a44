namespace OlmoeSharp.Server.Protocol;

/// <summary>The answer of <c>GET /health</c>: <c>ok</c> with the model id (200), or <c>loading</c> (503).</summary>
internal sealed class HealthStatus
{
    public required string Status { get; init; }
    public string? Model { get; init; }
}
