using System.Text.Json;
using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>Reads OpenAI's "string or array of strings" fields (<c>stop</c>) as a list; writes a list.</summary>
internal sealed class StringOrArrayConverter : JsonConverter<List<string>>
{
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return [reader.GetString()!];
            case JsonTokenType.StartArray:
                var values = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String) throw new JsonException("expected a string or an array of strings.");
                    values.Add(reader.GetString()!);
                }
                return values;
            default:
                throw new JsonException("expected a string or an array of strings.");
        }
    }

    public override void Write(Utf8JsonWriter writer, List<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (string item in value) writer.WriteStringValue(item);
        writer.WriteEndArray();
    }
}
