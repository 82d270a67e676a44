using System.Runtime.CompilerServices;
using System.Text;

namespace OlmoeSharp.Generation;

/// <summary>
/// A conversation with an instruct model that keeps its KV cache between turns: each turn renders the whole
/// conversation with the chat template, finds how much of it the cache already holds, and processes only the rest.
/// One conversation per instance; not for concurrent use (create one per user).
/// </summary>
public sealed class ChatSession
{
    private readonly TextGenerator _generator;
    private readonly IChatTemplate _template;
    private readonly InferenceSession _session;
    private readonly List<ChatTurn> _history = [];
    private readonly List<int> _cached = [];

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
        _session = generator.Model.CreateSession();
        _session.RouterObserver = generator.RouterObserver;
        if (!string.IsNullOrEmpty(systemPrompt)) _history.Add(new ChatTurn(TurnRole.System, systemPrompt));
    }

    /// <summary>The chat format this session renders the conversation with.</summary>
    public IChatTemplate Template => _template;

    /// <summary>The conversation so far, the assistant's answers included.</summary>
    public IReadOnlyList<ChatTurn> History => _history;

    /// <summary>Tokens the KV cache holds (re-used by the next turn where the rendered conversation agrees).</summary>
    public int CachedTokens => _session.Position;

    /// <summary>Adds a user message and streams the assistant's answer, which is added to <see cref="History"/> at the end.</summary>
    public IAsyncEnumerable<GenerationUpdate> SendAsync(string message, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options ??= new GenerationOptions();
        options.Validate();
        var turns = new List<ChatTurn>(_history) { new(TurnRole.User, message) };
        IReadOnlyList<int> prompt = _generator.RequireTokenizer().Encode(_template.Render(turns, addGenerationPrompt: true));
        int reused = CommonPrefix(prompt);
        Log.ChatTurnStarted(_generator.Logger, reused, prompt.Count);
        TextGenerator.CheckContext(prompt.Count, _session.ContextLength, options);
        _history.Add(turns[^1]);
        return RespondAsync(prompt, reused, options, cancellationToken);
    }

    private async IAsyncEnumerable<GenerationUpdate> RespondAsync(IReadOnlyList<int> prompt, int reused, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _session.Truncate(reused);
        var tokens = new List<int>(prompt);
        var answer = new StringBuilder();
        await foreach (var update in _generator.RunAsync(_session, tokens, prompt.Count - reused, options, cancellationToken))
        {
            answer.Append(update.Text);
            yield return update;
        }
        _history.Add(new ChatTurn(TurnRole.Assistant, answer.ToString()));
        _cached.Clear();
        _cached.AddRange(tokens.Take(_session.Position));
    }

    /// <summary>How many leading prompt tokens the cache already holds; at least one token is always left to run.</summary>
    private int CommonPrefix(IReadOnlyList<int> prompt)
    {
        int limit = Math.Min(Math.Min(_cached.Count, _session.Position), prompt.Count - 1);
        int n = 0;
        while (n < limit && _cached[n] == prompt[n]) n++;
        return n;
    }
}
