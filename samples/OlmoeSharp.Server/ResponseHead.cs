namespace OlmoeSharp.Server;

/// <summary>What every chunk and answer of one request repeats: its id, creation time (Unix seconds) and model.</summary>
internal sealed record ResponseHead(string Id, long Created, string Model)
{
    public static ResponseHead New(string prefix, string model) =>
        new($"{prefix}-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model);
}
