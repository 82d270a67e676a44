using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>The body of <c>POST /v1/chat/completions</c>, as OpenAI's clients send it. Fields this server does not know are ignored.</summary>
internal sealed class ChatCompletionRequest : SamplingFields
{
    public string? Model { get; set; }

    public List<ChatMessageDto>? Messages { get; set; }

    /// <summary>Report each generated token's log-probability.</summary>
    public bool? Logprobs { get; set; }

    /// <summary>With <see cref="Logprobs"/>: the most probable alternatives per token, 0–20.</summary>
    public int? TopLogprobs { get; set; }

    /// <summary>OpenAI's newer name for <see cref="SamplingFields.MaxTokens"/>; wins when both are given.</summary>
    public int? MaxCompletionTokens { get; set; }

    /// <summary>Tool definitions: refused (OLMoE's chat format has no tool turns), so a client relying on them learns it at once.</summary>
    public System.Text.Json.JsonElement? Tools { get; set; }

    /// <summary>Only <c>{"type": "text"}</c> (the default) is served; JSON modes are refused rather than ignored.</summary>
    public ResponseFormatDto? ResponseFormat { get; set; }
}

/// <summary>One message of <see cref="ChatCompletionRequest.Messages"/>.</summary>
internal sealed class ChatMessageDto
{
    public string? Role { get; set; }

    /// <summary>A string, or an array of content parts of which only <c>{"type":"text","text":…}</c> is understood.</summary>
    [JsonConverter(typeof(MessageContentConverter))]
    public MessageContent? Content { get; set; }
}

/// <summary><c>response_format</c>: <c>text</c>, <c>json_object</c> or <c>json_schema</c> with its <c>json_schema</c>.</summary>
internal sealed class ResponseFormatDto
{
    public string? Type { get; set; }

    public JsonSchemaFormatDto? JsonSchema { get; set; }
}

/// <summary><c>response_format.json_schema</c>: the schema's name, the schema, and whether it is strict (it always is here: the output is constrained to it).</summary>
internal sealed class JsonSchemaFormatDto
{
    public string? Name { get; set; }

    public System.Text.Json.JsonElement? Schema { get; set; }

    public bool? Strict { get; set; }
}
