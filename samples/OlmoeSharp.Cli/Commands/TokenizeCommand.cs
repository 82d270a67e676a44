using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>tokenize</c>: JSON lines in, JSON lines out. Encoding reads <c>{"text": "…"}</c> and writes <c>{"ids": […]}</c>;
/// with <c>--decode</c> it reads <c>{"ids": […]}</c> and writes <c>{"text": "…", "text_skip_special": "…"}</c>.
/// Blank input lines are skipped; every other line gives one output line, in order.
/// </summary>
internal static class TokenizeCommand
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keeps non-ASCII text readable; quotes, backslashes and control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create()
    {
        var tokenizerOption = new Option<string>("--tokenizer")
        {
            Description = "A tokenizer.json file, a model folder that holds one, or a GGUF file (its tokenizer.ggml.* keys).",
            Required = true,
        };
        var inputOption = new Option<string>("--input")
        {
            Description = "Input JSONL file: {\"text\": \"…\"} per line, or {\"ids\": […]} with --decode.",
            Required = true,
        };
        var outputOption = new Option<string>("--output")
        {
            Description = "Output JSONL file (replaced only when every line succeeded).",
            Required = true,
        };
        var decodeOption = new Option<bool>("--decode")
        {
            Description = "Decode ids to text instead of encoding text to ids.",
        };

        var command = new Command("tokenize", "Encode text to OLMoE token ids, or decode ids to text, one JSON line at a time.");
        command.Options.Add(tokenizerOption);
        command.Options.Add(inputOption);
        command.Options.Add(outputOption);
        command.Options.Add(decodeOption);
        command.SetAction(parseResult => Run(
            parseResult.GetValue(tokenizerOption)!,
            parseResult.GetValue(inputOption)!,
            parseResult.GetValue(outputOption)!,
            parseResult.GetValue(decodeOption)));
        return command;
    }

    private static int Run(string tokenizerPath, string inputPath, string outputPath, bool decode)
    {
        string temporaryPath = outputPath + ".partial";
        try
        {
            var tokenizer = OlmoeTokenizer.Load(tokenizerPath);
            using (var input = new StreamReader(inputPath, Encoding.UTF8))
            using (var output = File.Create(temporaryPath))
            using (var writer = new Utf8JsonWriter(output, WriterOptions))
            {
                int lineNumber = 0;
                while (input.ReadLine() is { } line)
                {
                    lineNumber++;
                    if (string.IsNullOrWhiteSpace(line)) continue;
                    string where = $"{inputPath}:{lineNumber}";
                    if (decode) WriteDecoded(tokenizer, ReadIds(line, where), writer);
                    else WriteEncoded(tokenizer, ReadText(line, where), writer);
                    writer.Flush();
                    writer.Reset();
                    output.WriteByte((byte)'\n');
                }
            }
            File.Move(temporaryPath, outputPath, overwrite: true);
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InputException)
        {
            if (File.Exists(temporaryPath)) File.Delete(temporaryPath);

            // Messages of the library's and the runtime's IO errors name the file; keep them to one line.
            Console.Error.WriteLine("tokenize: " + e.Message.ReplaceLineEndings(" "));
            return 1;
        }
    }

    private static void WriteEncoded(OlmoeTokenizer tokenizer, string text, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("ids");
        foreach (int id in tokenizer.Encode(text)) writer.WriteNumberValue(id);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteDecoded(OlmoeTokenizer tokenizer, int[] ids, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("text", tokenizer.Decode(ids));
        writer.WriteString("text_skip_special", tokenizer.Decode(ids, skipSpecialTokens: true));
        writer.WriteEndObject();
    }

    private static string ReadText(string line, string where)
    {
        using var document = Parse(line, where);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            throw new InputException($"{where}: expected an object with a string \"text\"");
        try
        {
            return text.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escaped unpaired surrogate ("\ud800"), which System.Text.Json will not put in a string. The
            // tokenizer encodes it as U+FFFD, so unescape it here rather than refuse the line.
            return JsonStringLiteral.Unescape(text.GetRawText());
        }
    }

    private static int[] ReadIds(string line, string where)
    {
        using var document = Parse(line, where);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("ids", out var ids) || ids.ValueKind != JsonValueKind.Array)
            throw new InputException($"{where}: expected an object with an array \"ids\"");
        var result = new int[ids.GetArrayLength()];
        int i = 0;
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out result[i]) || result[i] < 0)
                throw new InputException($"{where}: ids[{i}] is {id.GetRawText()}, not a token id (a non-negative 32-bit integer)");
            i++;
        }
        return result;
    }

    private static JsonDocument Parse(string line, string where)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new InputException($"{where}: not valid JSON ({e.Message})");
        }
    }

    /// <summary>A fault in the input file, reported as one line naming the file and line.</summary>
    private sealed class InputException(string message) : Exception(message);
}
