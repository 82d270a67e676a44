using System.Runtime.CompilerServices;
using System.Text;

namespace OlmoeSharp.Generation;

/// <summary>
/// A conversation with an instruct model that re-uses its KV cache between turns: each turn renders the whole
/// conversation with the chat template and leases, from the generator's pool of idle sessions, the one holding the
/// longest prefix of it — usually this conversation's own previous turn, or for a first turn another conversation with
/// the same system prompt — and processes only the rest (see <see cref="TextGenerator.MaxIdleSessions"/>).
/// One conversation per instance; not for concurrent use (create one per user; many may share one generator).
/// </summary>
public sealed class ChatSession
{
    private readonly TextGenerator _generator;
    private readonly IChatTemplate _template;
    private readonly List<ChatTurn> _history = [];
    private int _cachedTokens;

    /// <param name="generator">The model and tokenizer to chat with.</param>
    /// <exception cref="InvalidOperationException">The generator has no tokenizer.</exception>
    /// <param name="template">The chat format; by default the model's (<see cref="OlmoeModel.ChatTemplate"/>: what its files declare, or Tulu when they declare none).</param>
    /// <param name="systemPrompt">An optional system message that opens the conversation.</param>
    /// <exception cref="ChatTemplateNotSupportedException">No template is given and the model's files declare one OlmoeSharp cannot run.</exception>
    public ChatSession(TextGenerator generator, IChatTemplate? template = null, string? systemPrompt = null)
    {
        _generator = generator ?? throw new ArgumentNullException(nameof(generator));
        generator.RequireTokenizer();
        _template = template ?? generator.Model.ChatTemplate.Require();
        if (!string.IsNullOrEmpty(systemPrompt)) _history.Add(new ChatTurn(TurnRole.System, systemPrompt));
    }

    /// <summary>The chat format this session renders the conversation with.</summary>
    public IChatTemplate Template => _template;

    /// <summary>The conversation so far, the assistant's answers included.</summary>
    public IReadOnlyList<ChatTurn> History => _history;

    /// <summary>
    /// Tokens the KV cache held at the end of the last turn (re-used by the next turn where the rendered conversation
    /// agrees, unless the generator's pool has evicted that session meanwhile).
    /// </summary>
    public int CachedTokens => _cachedTokens;

    /// <summary>Adds a user message and streams the assistant's answer, which is added to <see cref="History"/> at the end.</summary>
    public IAsyncEnumerable<GenerationUpdate> SendAsync(string message, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options ??= new GenerationOptions();
        options.Validate();
        var turns = new List<ChatTurn>(_history) { new(TurnRole.User, message) };
        IReadOnlyList<int> prompt = _generator.RequireTokenizer().Encode(_template.Render(turns, addGenerationPrompt: true));
        TextGenerator.CheckContext(prompt.Count, _generator.Model.Config.MaxPositionEmbeddings, options);
        _history.Add(turns[^1]);
        return RespondAsync(prompt, options, cancellationToken);
    }

    private async IAsyncEnumerable<GenerationUpdate> RespondAsync(IReadOnlyList<int> prompt, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var answer = new StringBuilder();
        await foreach (var update in _generator.RunPooledAsync([.. prompt], options, cancellationToken, s => _cachedTokens = s.Position))
        {
            answer.Append(update.Text);
            yield return update;
        }
        _history.Add(new ChatTurn(TurnRole.Assistant, answer.ToString()));
    }
}
