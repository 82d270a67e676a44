using System.CommandLine;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>generate --model DIR|REPO_ID (--prompt TEXT [--chat [--template auto|tulu]] | --tokens 1,2,3) [--json | --json-schema FILE | --grammar FILE] [sampling options] [--ids-out FILE]</c>:
/// streams the continuation to stdout (or, for a token prompt on a model without a tokenizer, the generated ids);
/// timing and token counts go to stderr. With a response format stdout holds exactly the generated document (no
/// newline added).
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prompt = new Option<string?>("--prompt") { Description = "Prompt text." };
        var tokens = new Option<string?>("--tokens") { Description = "Prompt as comma-separated token ids." };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt in the model's chat format (see --template)." };
        var template = CommonOptions.Template();
        var idsOut = new Option<string?>("--ids-out") { Description = "Write the generated ids, comma-separated, to this file." };
        var json = new Option<bool>("--json") { Description = "Constrain the output to a JSON value." };
        var jsonSchema = new Option<string?>("--json-schema") { Description = "Constrain the output to JSON matching the JSON Schema in this file." };
        var grammar = new Option<string?>("--grammar") { Description = "Constrain the output to the GBNF grammar in this file (rule root)." };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var sampling = new SamplingOptions();
        var command = new Command("generate", "Generate a continuation of a prompt.") { model, prompt, tokens, chat, template, idsOut, json, jsonSchema, grammar, threads, weights, kvCache, noProbe };
        sampling.AddTo(command);
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            string? text = parse.GetValue(prompt), ids = parse.GetValue(tokens);
            if ((text is null) == (ids is null)) throw new ArgumentException("give exactly one of --prompt and --tokens.");
            var format = await ReadFormatAsync(parse.GetValue(json), parse.GetValue(jsonSchema), parse.GetValue(grammar), cancel);
            var options = sampling.Read(parse) with { ResponseFormat = format };
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel,
                CommonOptions.ParseTemplate(parse.GetValue(template)!));
            var generator = new TextGenerator(loaded);
            if (parse.GetValue(chat) && loaded.ChatTemplate.Status != ChatTemplateStatus.Unsupported) Console.Error.WriteLine(loaded.ChatTemplate.Description);
            var updates = ids is not null
                ? generator.GenerateAsync(CliRunner.ParseTokenList(ids), options, cancel)
                : generator.GenerateAsync(parse.GetValue(chat) ? loaded.ChatTemplate.Require().Render([new ChatTurn(TurnRole.User, text!)], true) : text!, options, cancel);

            var generated = new List<int>();
            GenerationUsage? usage = null;
            FinishReason? finish = null;
            await foreach (var update in updates)
            {
                Console.Write(update.Text);
                if (update.TokenId is int id) generated.Add(id);
                (usage, finish) = (update.Usage ?? usage, update.FinishReason ?? finish);
            }
            if (generator.Tokenizer is null) Console.Write(string.Join(",", generated));
            if (format.Kind == ResponseFormatKind.Text) Console.WriteLine();
            if (parse.GetValue(idsOut) is { } path) await File.WriteAllTextAsync(path, string.Join(",", generated) + "\n", CancellationToken.None);
            if (usage is not null)
                Console.Error.WriteLine($"[{finish}] prompt {usage.PromptTokens} tokens at {usage.PromptTokensPerSecond:F1} tok/s, generated {usage.GeneratedTokens} at {usage.DecodeTokensPerSecond:F2} tok/s");
            return finish == FinishReason.Cancelled ? CliRunner.Cancelled : 0;
        }));
        return command;
    }

    /// <summary>The response format of --json, --json-schema FILE or --grammar FILE (at most one), free text without them.</summary>
    private static async Task<ResponseFormat> ReadFormatAsync(bool json, string? schemaFile, string? grammarFile, CancellationToken cancel)
    {
        if ((json ? 1 : 0) + (schemaFile is null ? 0 : 1) + (grammarFile is null ? 0 : 1) > 1)
            throw new ArgumentException("give at most one of --json, --json-schema and --grammar.");
        if (json) return ResponseFormat.Json;
        if (schemaFile is not null) return await CompileAsync("--json-schema", schemaFile, ResponseFormat.ForJsonSchema, cancel);
        if (grammarFile is not null) return await CompileAsync("--grammar", grammarFile, ResponseFormat.ForGrammar, cancel);
        return ResponseFormat.Text;
    }

    // The file's format, its refusal naming the option and the file as well as the place in it.
    private static async Task<ResponseFormat> CompileAsync(string option, string file, Func<string, ResponseFormat> compile, CancellationToken cancel)
    {
        string text = await File.ReadAllTextAsync(file, cancel);
        try
        {
            return compile(text);
        }
        catch (ResponseFormatException e)
        {
            throw new ArgumentException($"{option} {file}: {e.Message}", e);
        }
    }
}
