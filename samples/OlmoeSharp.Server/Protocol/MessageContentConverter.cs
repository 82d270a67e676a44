using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OlmoeSharp.Server.Protocol;

/// <summary>
/// Reads a chat message's <c>content</c>: a string, or an array of parts whose text parts are joined (other part
/// types — images, audio — are recorded so the validator refuses them by name).
/// </summary>
internal sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    private const string Expected = "expected a string or an array of content parts.";

    public override MessageContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.String) return new MessageContent(reader.GetString()!);
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException(Expected);

        var text = new StringBuilder();
        string? unsupported = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException(Expected);
            string? type = null, partText = null;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                reader.Read();
                if (name == "type" && reader.TokenType == JsonTokenType.String) type = reader.GetString();
                else if (name == "text" && reader.TokenType == JsonTokenType.String) partText = reader.GetString();
                else reader.Skip();
            }
            if (type == "text" && partText is not null) text.Append(partText);
            else unsupported ??= type ?? "(none)";
        }
        return new MessageContent(text.ToString(), unsupported);
    }

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Text);
}
