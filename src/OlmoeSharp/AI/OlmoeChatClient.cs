using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using OlmoeSharp.Generation;

namespace OlmoeSharp.AI;

/// <summary>
/// <see cref="IChatClient"/> over an OLMoE instruct model, for code written against Microsoft.Extensions.AI.
/// Messages are rendered with the model's chat template; Temperature, TopP, TopK, Seed, MaxOutputTokens,
/// StopSequences and Instructions are honoured (the caller's <see cref="ChatOptions"/> are only read). The last
/// streamed update carries the finish reason and a <see cref="UsageContent"/>. Thread-safe: concurrent requests
/// each get their own inference session. Cancellation throws <see cref="OperationCanceledException"/>.
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
        var turns = ToTurns(messages, options?.Instructions);
        var generation = ToGenerationOptions(options);
        string responseId = Guid.NewGuid().ToString("N");
        string modelId = options?.ModelId ?? _metadata.DefaultModelId ?? "olmoe";
        var prompt = _generator.RequireTokenizer().Encode(_template.Render(turns, addGenerationPrompt: true));

        await foreach (var update in _generator.GenerateAsync(prompt, generation, cancellationToken))
        {
            if (update.FinishReason is not { } finish)
            {
                if (update.Text.Length > 0) yield return NewUpdate(update.Text, responseId, modelId);
                continue;
            }
            cancellationToken.ThrowIfCancellationRequested();
            var last = NewUpdate(update.Text, responseId, modelId);
            last.FinishReason = finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
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

    private static List<ChatTurn> ToTurns(IEnumerable<ChatMessage> messages, string? instructions)
    {
        var turns = new List<ChatTurn>();
        if (!string.IsNullOrEmpty(instructions)) turns.Add(new ChatTurn(TurnRole.System, instructions));
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            TurnRole role = message.Role == ChatRole.System ? TurnRole.System
                : message.Role == ChatRole.User ? TurnRole.User
                : message.Role == ChatRole.Assistant ? TurnRole.Assistant
                : throw new NotSupportedException($"messages with role '{message.Role}' are not supported; OLMoE's chat format has system, user and assistant turns.");
            turns.Add(new ChatTurn(role, message.Text));
        }
        if (turns.Count == 0) throw new ArgumentException("at least one message is required.", nameof(messages));
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
