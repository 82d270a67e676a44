namespace OlmoeSharp.Server.Protocol;

/// <summary>The request fields both completion endpoints share: how many tokens, how to sample, when to stop, how to stream.</summary>
internal abstract class SamplingFields
{
    public int? MaxTokens { get; set; }

    public float? Temperature { get; set; }

    public float? TopP { get; set; }

    /// <summary>vLLM's extension: sample among the K most likely tokens.</summary>
    public int? TopK { get; set; }

    /// <summary>vLLM's extension: drop tokens less likely than min_p × the most likely one.</summary>
    public float? MinP { get; set; }

    /// <summary>vLLM's extension: Hugging Face's repetition penalty (1 = none).</summary>
    public float? RepetitionPenalty { get; set; }

    /// <summary>Not implemented; accepted only as 0 (what clients send by default).</summary>
    public float? PresencePenalty { get; set; }

    /// <summary>Not implemented; accepted only as 0 (what clients send by default).</summary>
    public float? FrequencyPenalty { get; set; }

    public long? Seed { get; set; }

    [System.Text.Json.Serialization.JsonConverter(typeof(StringOrArrayConverter))]
    public List<string>? Stop { get; set; }

    public int? N { get; set; }

    public bool? Stream { get; set; }

    public StreamOptionsDto? StreamOptions { get; set; }

    /// <summary>The caller's end-user id: accepted and not used.</summary>
    public string? User { get; set; }
}

/// <summary><c>stream_options</c>.</summary>
internal sealed class StreamOptionsDto
{
    /// <summary>Send a last chunk, before <c>[DONE]</c>, with empty choices and the request's usage.</summary>
    public bool? IncludeUsage { get; set; }
}
