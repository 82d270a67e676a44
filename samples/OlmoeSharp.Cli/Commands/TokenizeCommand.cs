using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>tokenize [--decode] --tokenizer PATH --input IN.jsonl --output OUT.jsonl</c>: each line {"text": …} becomes
/// {"ids": […]}; with --decode each line {"ids": […]} becomes {"text": …, "text_skip_special": …}.
/// </summary>
internal static class TokenizeCommand
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "A tokenizer.json file or a model folder that holds one.", Required = true };
        var input = new Option<string>("--input") { Description = "JSON lines to read.", Required = true };
        var output = new Option<string>("--output") { Description = "JSON lines to write.", Required = true };
        var decode = new Option<bool>("--decode") { Description = "Turn ids into text instead of text into ids." };
        var command = new Command("tokenize", "Encode or decode JSON lines with a tokenizer.") { tokenizer, input, output, decode };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            var tok = OlmoeTokenizer.Load(parse.GetValue(tokenizer)!);
            string inputPath = parse.GetValue(input)!;
            bool decoding = parse.GetValue(decode);
            await using var writer = new StreamWriter(parse.GetValue(output)!);
            int lineNumber = 0;
            foreach (var line in File.ReadLines(inputPath))
            {
                cancel.ThrowIfCancellationRequested();
                lineNumber++;
                if (line.Trim().Length == 0) continue;
                JsonElement item;
                try
                {
                    item = JsonDocument.Parse(line).RootElement;
                }
                catch (JsonException e)
                {
                    throw new FormatException($"{inputPath}:{lineNumber}: not JSON ({e.Message}).");
                }
                object result = decoding ? DecodeLine(tok, item, inputPath, lineNumber) : EncodeLine(tok, item, inputPath, lineNumber);
                await writer.WriteLineAsync(JsonSerializer.Serialize(result, Json));
            }
            return 0;
        }));
        return command;
    }

    private static object EncodeLine(OlmoeTokenizer tokenizer, JsonElement item, string path, int line)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            throw new FormatException($"{path}:{line}: expected {{\"text\": \"…\"}}.");
        return new { ids = tokenizer.Encode(text.GetString()!) };
    }

    private static object DecodeLine(OlmoeTokenizer tokenizer, JsonElement item, string path, int line)
    {
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("ids", out var idsElement) || idsElement.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{path}:{line}: expected {{\"ids\": [...]}}.");
        var ids = idsElement.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id)
            ? id : throw new FormatException($"{path}:{line}: ids must be integers.")).ToArray();
        return new { text = tokenizer.Decode(ids), text_skip_special = tokenizer.Decode(ids, skipSpecialTokens: true) };
    }
}
