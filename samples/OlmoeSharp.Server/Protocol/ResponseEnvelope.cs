namespace OlmoeSharp.Server.Protocol;

/// <summary>What every completion answer and chunk of OpenAI's API holds around its choices.</summary>
internal abstract class ResponseEnvelope<TChoice>
{
    public required string Id { get; init; }

    /// <summary><c>chat.completion</c>, <c>chat.completion.chunk</c> or <c>text_completion</c>.</summary>
    public abstract string Object { get; }

    public required long Created { get; init; }
    public required string Model { get; init; }
    public required List<TChoice> Choices { get; init; }

    /// <summary>Always on a whole answer; on a stream's last event only, when <c>stream_options.include_usage</c> asked for it.</summary>
    public Usage? Usage { get; init; }
}
