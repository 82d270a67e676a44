using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>The body of <c>POST /v1/completions</c> (plain continuation, no chat template).</summary>
internal sealed class CompletionRequest : SamplingFields
{
    public string? Model { get; set; }

    /// <summary>A string, an array of strings, an array of token ids, or an array of such arrays.</summary>
    [JsonConverter(typeof(PromptConverter))]
    public List<Prompt>? Prompt { get; set; }

    /// <summary>Alternatives per token to report (0–20), with the chosen token's log-probability; null reports none.</summary>
    public int? Logprobs { get; set; }

    /// <summary>Not implemented: refused when true rather than ignored.</summary>
    public bool? Echo { get; set; }

    /// <summary>Not implemented (insertion): refused when given.</summary>
    public string? Suffix { get; set; }

    /// <summary>Not implemented: refused above 1.</summary>
    public int? BestOf { get; set; }
}
