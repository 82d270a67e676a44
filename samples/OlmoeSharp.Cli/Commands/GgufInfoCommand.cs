using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>gguf-info</c>: what a GGUF file holds — version, alignment, metadata (long arrays summarised), and every
/// tensor's name, type, shape and size — as text or as JSON. The file is validated in full before anything is printed.
/// </summary>
internal static class GgufInfoCommand
{
    /// <summary>Arrays longer than this are printed as their type, length and first values (a vocabulary has 50k).</summary>
    private const int ArrayPreview = 8;

    // Keeps non-ASCII tokens readable; quotes, backslashes and control characters are still escaped.
    private static readonly JsonSerializerOptions TextOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var fileOption = new Option<string>("--file") { Description = "The GGUF file.", Required = true };
        var jsonOption = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("gguf-info", "Print a GGUF file's version, metadata and tensors, after validating it.");
        command.Options.Add(fileOption);
        command.Options.Add(jsonOption);
        command.SetAction(parseResult => Run(parseResult.GetValue(fileOption)!, parseResult.GetValue(jsonOption)));
        return command;
    }

    private static int Run(string path, bool json)
    {
        try
        {
            using var file = GgufFile.Open(path);
            if (json) WriteJson(file);
            else WriteText(file);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // ModelFormatException and the runtime's IO errors name the file; keep them to one line.
            Console.Error.WriteLine("gguf-info: " + e.Message.ReplaceLineEndings(" "));
            return 1;
        }
    }

    private static void WriteText(GgufFile file)
    {
        var output = Console.Out;
        output.WriteLine($"{file.FilePath}: GGUF v{file.Version}, alignment {file.Alignment}, data at byte {file.DataOffset}");
        output.WriteLine($"metadata ({file.MetadataKeys.Count}):");
        foreach (var key in file.MetadataKeys)
        {
            var value = file.Metadata[key];
            string shown = value.Value is Array array
                ? $"[{string.Join(", ", Preview(array).Select(Format))}{(array.Length > ArrayPreview ? ", …" : "")}] (length {array.Length})"
                : Format(value.Value);
            output.WriteLine($"  {key} ({value.TypeName}) = {shown}");
        }
        output.WriteLine($"tensors ({file.Tensors.Count}):");
        foreach (var tensor in file.Tensors)
            output.WriteLine($"  {tensor.Name} {tensor.Type} {tensor.ShapeText} {tensor.ByteLength} bytes");
    }

    private static void WriteJson(GgufFile file)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("file", file.FilePath);
            writer.WriteNumber("version", file.Version);
            writer.WriteNumber("alignment", file.Alignment);
            writer.WriteNumber("data_offset", file.DataOffset);
            writer.WriteStartObject("metadata");
            foreach (var key in file.MetadataKeys)
            {
                var value = file.Metadata[key];
                writer.WriteStartObject(key);
                writer.WriteString("type", value.TypeName);
                if (value.Value is Array array)
                {
                    writer.WriteNumber("length", array.Length);
                    writer.WriteStartArray("first");
                    foreach (var element in Preview(array)) WriteJsonValue(writer, element);
                    writer.WriteEndArray();
                }
                else
                {
                    writer.WritePropertyName("value");
                    WriteJsonValue(writer, value.Value);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            writer.WriteStartArray("tensors");
            foreach (var tensor in file.Tensors)
            {
                writer.WriteStartObject();
                writer.WriteString("name", tensor.Name);
                writer.WriteString("type", tensor.Type.ToString());
                writer.WriteStartArray("shape");
                foreach (long d in tensor.Dimensions) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteNumber("offset", tensor.DataStart);
                writer.WriteNumber("bytes", tensor.ByteLength);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }

    private static IEnumerable<object> Preview(Array array) => array.Cast<object>().Take(ArrayPreview);

    private static string Format(object value) => value switch
    {
        string text => JsonSerializer.Serialize(text, TextOptions),
        bool flag => flag ? "true" : "false",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static void WriteJsonValue(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case string text: writer.WriteStringValue(text); break;
            case bool flag: writer.WriteBooleanValue(flag); break;
            // Non-finite floats have no JSON number; they are written as strings ("NaN", "Infinity").
            case float f when !float.IsFinite(f): writer.WriteStringValue(f.ToString(CultureInfo.InvariantCulture)); break;
            case double d when !double.IsFinite(d): writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture)); break;
            case float f: writer.WriteNumberValue(f); break;
            case double d: writer.WriteNumberValue(d); break;
            case ulong u: writer.WriteNumberValue(u); break;
            case long l: writer.WriteNumberValue(l); break;
            case uint u: writer.WriteNumberValue(u); break;
            default: writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
        }
    }
}
