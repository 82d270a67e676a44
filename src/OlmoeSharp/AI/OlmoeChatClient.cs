using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OlmoeSharp.Generation;

namespace OlmoeSharp.AI;

/// <summary>
/// <see cref="IChatClient"/> over an OLMoE instruct model, for code written against Microsoft.Extensions.AI.
/// Messages are rendered with the model's chat template; Temperature, TopP, TopK, Seed, MaxOutputTokens,
/// StopSequences and Instructions are honoured (the caller's <see cref="ChatOptions"/> are only read). The last
/// streamed update carries the finish reason and a <see cref="UsageContent"/>. Thread-safe: concurrent requests
/// each get their own inference session. Cancellation throws <see cref="OperationCanceledException"/>.
/// <para>
/// Structured output: <see cref="ChatOptions.ResponseFormat"/> <see cref="ChatResponseFormat.Json"/> constrains the
/// reply to JSON, and a JSON schema (<see cref="ChatResponseFormat.ForJsonSchema(JsonElement, string?, string?)"/>,
/// as <c>GetResponseAsync&lt;T&gt;()</c> sends) to documents matching it (see <see cref="ResponseFormat"/> for the
/// schema keywords supported) — so the reply always parses, whatever the model.
/// </para>
/// <para>
/// Tool calls: with <see cref="ChatOptions.Tools"/> (functions) and a <see cref="ChatOptions.ToolMode"/> other
/// than None, the tools and how to call them are described in the system turn, and the reply is constrained to
/// either plain text not beginning with "{" or one call <c>{"name": …, "arguments": {…}}</c> of an offered tool
/// with arguments matching its parameter schema (only a call with RequireAny / RequireSpecific). A call comes back
/// as a <see cref="FunctionCallContent"/> (finish reason ToolCalls); <see cref="FunctionResultContent"/> messages are
/// rendered back into the conversation, so <c>new ChatClientBuilder(client).UseFunctionInvocation().Build()</c>
/// runs a tool loop. OLMoE-Instruct was not trained on any tool format: the constraint, not the model, makes the
/// calls well-formed; whether the model calls the right tool with sensible arguments is up to the model.
/// </para>
/// </summary>
public sealed class OlmoeChatClient : IChatClient
{
    private readonly TextGenerator _generator;
    private readonly IChatTemplate _template;
    private readonly ChatClientMetadata _metadata;

    /// <param name="generator">The model and tokenizer.</param>
    /// <param name="template">The chat format; by default the model's (<see cref="OlmoeModel.ChatTemplate"/>: what its files declare, or Tulu when they declare none).</param>
    /// <param name="modelId">The id reported in metadata and responses (the model folder's name by default).</param>
    /// <exception cref="ChatTemplateNotSupportedException">No template is given and the model's files declare one OlmoeSharp cannot run.</exception>
    public OlmoeChatClient(TextGenerator generator, IChatTemplate? template = null, string? modelId = null)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        _template = template ?? generator.Model.ChatTemplate.Require();
        _metadata = new ChatClientMetadata("OlmoeSharp", null, modelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(generator.Model.Directory)));
    }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var tools = ToolCalling.For(options);
        var turns = ToTurns(messages, options?.Instructions, tools?.Describe());
        var generation = ToGenerationOptions(options) with { ResponseFormat = tools?.Format ?? ResponseFormats.For(options?.ResponseFormat) };
        string responseId = Guid.NewGuid().ToString("N");
        string modelId = options?.ModelId ?? _metadata.DefaultModelId ?? "olmoe";
        var prompt = _generator.RequireTokenizer().Encode(_template.Render(turns, addGenerationPrompt: true));

        // With tools, a reply beginning with "{" is a call: it is held back and returned whole as a FunctionCallContent.
        StringBuilder? call = null;
        bool started = false;
        await foreach (var update in _generator.GenerateAsync(prompt, generation, cancellationToken))
        {
            if (!started && update.Text.Length > 0)
            {
                started = true;
                if (tools is not null && update.Text.StartsWith('{')) call = new StringBuilder();
            }
            if (update.FinishReason is not { } finish)
            {
                if (call is not null) call.Append(update.Text);
                else if (update.Text.Length > 0) yield return NewUpdate(update.Text, responseId, modelId);
                continue;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var functionCall = call is null ? null : ToolCalling.ParseCall(call.Append(update.Text).ToString());
            var last = NewUpdate(functionCall is null ? update.Text : "", responseId, modelId);
            if (functionCall is not null) last.Contents.Add(functionCall);
            last.FinishReason = functionCall is not null ? ChatFinishReason.ToolCalls : finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
            var usage = update.Usage!;
            last.Contents.Add(new UsageContent(new UsageDetails
            {
                InputTokenCount = usage.PromptTokens + usage.CachedPromptTokens,
                CachedInputTokenCount = usage.CachedPromptTokens,
                OutputTokenCount = usage.GeneratedTokens,
                TotalTokenCount = usage.PromptTokens + usage.CachedPromptTokens + usage.GeneratedTokens,
            }));
            yield return last;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_generator)) return _generator;
        return null;
    }

    /// <summary>Nothing to release: the model belongs to the caller.</summary>
    public void Dispose()
    {
    }

    private static ChatResponseUpdate NewUpdate(string text, string responseId, string modelId) =>
        new(ChatRole.Assistant, text) { ResponseId = responseId, MessageId = responseId, ModelId = modelId, CreatedAt = DateTimeOffset.UtcNow };

    /// <summary>
    /// The conversation as chat turns: <paramref name="instructions"/> first as a system turn; the tool description
    /// joins the first system turn (or becomes one); an assistant's function calls are written as the JSON it
    /// generated, and tool results (role Tool) become user turns, as the template has no tool role.
    /// </summary>
    internal static List<ChatTurn> ToTurns(IEnumerable<ChatMessage> messages, string? instructions, string? toolDescription = null)
    {
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(instructions)) turns.Add(new ChatTurn(TurnRole.System, instructions));
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            TurnRole role = message.Role == ChatRole.System ? TurnRole.System
                : message.Role == ChatRole.User || message.Role == ChatRole.Tool ? TurnRole.User
                : message.Role == ChatRole.Assistant ? TurnRole.Assistant
                : throw new NotSupportedException($"messages with role '{message.Role}' are not supported; OLMoE's chat format has system, user and assistant turns (tool results become user turns).");
            var text = new StringBuilder();
            foreach (var content in message.Contents)
                switch (content)
                {
                    case TextContent part:
                        text.Append(part.Text);
                        break;
                    case FunctionCallContent call:
                        toolNames[call.CallId] = call.Name;
                        text.Append(ToolCalling.Render(call));
                        break;
                    case FunctionResultContent result:
                        text.Append(text.Length > 0 ? "\n" : "").Append(ToolCalling.Render(result, toolNames.GetValueOrDefault(result.CallId)));
                        break;
                }
            turns.Add(new ChatTurn(role, text.ToString()));
        }
        if (turns.Count == 0) throw new ArgumentException("at least one message is required.", nameof(messages));
        if (toolDescription is not null)
        {
            if (turns[0].Role == TurnRole.System) turns[0] = turns[0] with { Text = turns[0].Text + "\n\n" + toolDescription };
            else turns.Insert(0, new ChatTurn(TurnRole.System, toolDescription));
        }
        return turns;
    }

    /// <summary>Maps the options this engine understands; reads <paramref name="options"/> and never changes it.</summary>
    internal static GenerationOptions ToGenerationOptions(ChatOptions? options)
    {
        var defaults = new GenerationOptions();
        if (options is null) return defaults;
        return defaults with
        {
            Temperature = options.Temperature ?? defaults.Temperature,
            TopP = options.TopP ?? defaults.TopP,
            TopK = options.TopK ?? defaults.TopK,
            Seed = options.Seed is long seed ? unchecked((ulong)seed) : null,
            MaxNewTokens = options.MaxOutputTokens ?? defaults.MaxNewTokens,
            StopSequences = options.StopSequences is { } stops ? [.. stops] : [],
        };
    }
}
