using System.Text.Json;
using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>
/// Reads a completion's <c>prompt</c> in any of OpenAI's four shapes — <c>"text"</c>, <c>["text", …]</c>,
/// <c>[1, 2, 3]</c>, <c>[[1, 2], [3]]</c> — as a list of prompts.
/// </summary>
internal sealed class PromptConverter : JsonConverter<List<Prompt>>
{
    private const string Expected = "expected a string, an array of strings, an array of token ids or an array of such arrays.";

    public override List<Prompt>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.String) return [new Prompt(reader.GetString(), null)];
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException(Expected);

        var prompts = new List<Prompt>();
        List<int>? tokens = null; // a flat array of ids is one prompt
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String when tokens is null:
                    prompts.Add(new Prompt(reader.GetString(), null));
                    break;
                case JsonTokenType.Number when prompts.Count == 0:
                    (tokens ??= []).Add(reader.GetInt32());
                    break;
                case JsonTokenType.StartArray when tokens is null:
                    prompts.Add(new Prompt(null, ReadIds(ref reader)));
                    break;
                default:
                    throw new JsonException(Expected);
            }
        }
        if (tokens is not null) prompts.Add(new Prompt(null, tokens));
        return prompts;
    }

    private static List<int> ReadIds(ref Utf8JsonReader reader)
    {
        var ids = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number) throw new JsonException(Expected);
            ids.Add(reader.GetInt32());
        }
        return ids;
    }

    public override void Write(Utf8JsonWriter writer, List<Prompt> value, JsonSerializerOptions options) =>
        throw new NotSupportedException("prompts are only read.");
}
