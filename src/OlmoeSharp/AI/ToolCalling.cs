using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OlmoeSharp.Constraints;
using OlmoeSharp.Generation;

namespace OlmoeSharp.AI;

/// <summary>
/// Tool calls for a model that was never trained on a tool format (OLMoE-Instruct was not): the tools are described
/// in the system turn, and the reply is constrained to a call — one JSON object <c>{"name": …, "arguments": {…}}</c>
/// naming a tool and matching its parameter schema — or, when the tool mode lets the model choose, to text that does
/// not begin with "{". The constraint does the work: whatever the model's preferences, a reply beginning with "{" is
/// a well-formed call of an offered tool.
/// </summary>
internal sealed class ToolCalling
{
    private static readonly GrammarExpr PlainText = GrammarExpr.Sequence(
        CodePointSet.All.Except(CodePointSet.Single('{')).ToUtf8(),
        GrammarExpr.Repeat(CodePointSet.All.ToUtf8(), 0, null));

    // The conversation holds calls and results as compact JSON, as the constraint has the model write them.
    private static readonly JsonSerializerOptions Compact = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    private ToolCalling(IReadOnlyList<AIFunctionDeclaration> tools, bool required, ResponseFormat format)
    {
        Tools = tools;
        Required = required;
        Format = format;
    }

    /// <summary>The tools the reply may call.</summary>
    public IReadOnlyList<AIFunctionDeclaration> Tools { get; }

    /// <summary>The reply must be a call (RequireAny or RequireSpecific).</summary>
    public bool Required { get; }

    /// <summary>The reply's constraint.</summary>
    public ResponseFormat Format { get; }

    /// <summary>The tool calling the options ask for, or null (no tools, or ToolMode None).</summary>
    /// <exception cref="NotSupportedException">A tool is not a function, or RequireSpecific names no offered tool.</exception>
    /// <exception cref="ResponseFormatException">A tool's parameter schema cannot constrain generation.</exception>
    public static ToolCalling? For(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools || options.ToolMode is NoneChatToolMode) return null;
        var functions = new List<AIFunctionDeclaration>();
        foreach (var tool in tools)
            functions.Add(tool as AIFunctionDeclaration ?? throw new NotSupportedException($"the tool '{tool.Name}' is not a function; OlmoeChatClient calls functions only."));
        bool required = options.ToolMode is RequiredChatToolMode;
        if (options.ToolMode is RequiredChatToolMode { RequiredFunctionName: { } name })
            functions = functions.Where(f => f.Name == name).ToList() is { Count: > 0 } named ? named
                : throw new NotSupportedException($"ToolMode requires the function '{name}', which is not among the tools.");

        var calls = functions.Select(f => JsonSchemaCompiler.Compile(CallSchema(f))).ToArray();
        var reply = required ? GrammarExpr.Choice(calls) : GrammarExpr.Choice([.. calls, PlainText]);
        string description = $"{(required ? "a call of" : "text or a call of")} {string.Join(", ", functions.Select(f => f.Name))}";
        return new ToolCalling(functions, required, ResponseFormat.ForGrammar(reply, description));
    }

    /// <summary>The system-turn text that tells the model about the tools and how to call them.</summary>
    public string Describe()
    {
        var text = new StringBuilder(Required
            ? "Reply with a tool call: only a JSON object {\"name\": <tool name>, \"arguments\": {<the tool's parameters>}}.\n"
            : "You can call a tool. To call one, reply with only a JSON object {\"name\": <tool name>, \"arguments\": {<the tool's parameters>}}; otherwise answer in plain text.\n");
        text.Append("Tools:");
        foreach (var tool in Tools)
            text.Append($"\n- {tool.Name}: {tool.Description} Parameters (JSON Schema): {tool.JsonSchema.GetRawText()}");
        return text.ToString();
    }

    /// <summary>A reply that is a call (it begins with "{") as a <see cref="FunctionCallContent"/>; null for text.</summary>
    public static FunctionCallContent? ParseCall(string reply)
    {
        if (!reply.StartsWith('{')) return null;
        using var document = JsonDocument.Parse(reply);
        string name = document.RootElement.GetProperty("name").GetString()!;
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var argument in document.RootElement.GetProperty("arguments").EnumerateObject())
            arguments[argument.Name] = argument.Value.Clone();
        return new FunctionCallContent("call_" + Guid.NewGuid().ToString("N"), name, arguments);
    }

    /// <summary>How a call appears in the conversation: as the model wrote it.</summary>
    public static string Render(FunctionCallContent call) =>
        JsonSerializer.Serialize(new Dictionary<string, object?> { ["name"] = call.Name, ["arguments"] = call.Arguments ?? new Dictionary<string, object?>() }, Compact);

    /// <summary>How a tool's result appears in the conversation (a user turn: Tulu has no tool role).</summary>
    public static string Render(FunctionResultContent result, string? toolName) =>
        $"Result of the tool call {toolName ?? result.CallId}: " + (result.Exception is { } e
            ? $"error: {e.Message}"
            : JsonSerializer.Serialize(result.Result, Compact));

    // {"name": <const>, "arguments": <the tool's schema>}, both required, nothing else.
    private static JsonElement CallSchema(AIFunctionDeclaration function)
    {
        var schema = new Dictionary<string, object?>
        {
            ["type"] = "object",
            ["additionalProperties"] = false,
            ["required"] = new[] { "name", "arguments" },
            ["properties"] = new Dictionary<string, object?>
            {
                ["name"] = new Dictionary<string, object?> { ["const"] = function.Name },
                ["arguments"] = function.JsonSchema,
            },
        };
        return JsonSerializer.SerializeToElement(schema, AIJsonUtilities.DefaultOptions);
    }
}
