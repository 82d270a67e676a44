using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>
/// Source-generated (de)serializers for every body the server reads or writes: snake_case names as OpenAI's API
/// spells them, nulls left out (except in errors), no reflection at run time.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelCard))]
[JsonSerializable(typeof(HealthStatus))]
internal sealed partial class ServerJsonContext : JsonSerializerContext
{
    /// <summary>
    /// What the server reads and writes with: <see cref="Default"/>'s settings, with non-ASCII text and quotes written
    /// as they are (as OpenAI's API does) rather than \u-escaped; the bodies are JSON for API clients, never HTML.
    /// </summary>
    /// <remarks>Made on first use: the generated <see cref="Default"/> is initialised in another part of the class, in no set order.</remarks>
    public static ServerJsonContext Relaxed => field ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
