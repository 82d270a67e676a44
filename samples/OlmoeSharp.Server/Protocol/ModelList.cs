namespace OlmoeSharp.Server.Protocol;

/// <summary>The answer of <c>GET /v1/models</c>: the one model this server runs.</summary>
internal sealed class ModelList
{
    public string Object => "list";
    public required List<ModelCard> Data { get; init; }
}

/// <summary>A model as OpenAI lists it.</summary>
internal sealed class ModelCard
{
    public required string Id { get; init; }
    public string Object => "model";
    public required long Created { get; init; }
    public string OwnedBy => "olmoesharp";

    /// <summary>vLLM's extension: the context window in tokens.</summary>
    public required int MaxModelLen { get; init; }
}
