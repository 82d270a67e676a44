using System.Text;

namespace OlmoeSharp.Generation;

/// <summary>
/// The Tulu chat format of OLMoE-1B-7B-Instruct, equal character for character to the Jinja <c>chat_template</c> of
/// its tokenizer_config.json (with <c>bos_token</c> and <c>eos_token</c> both <c>&lt;|endoftext|&gt;</c>):
/// <code>
/// &lt;|endoftext|&gt;&lt;|system|&gt;\n{text}\n&lt;|user|&gt;\n{text}\n&lt;|assistant|&gt;\n{text}&lt;|endoftext|&gt;\n&lt;|user|&gt;\n{text}\n&lt;|assistant|&gt;\n
/// </code>
/// An assistant turn ends with <c>&lt;|endoftext|&gt;</c>, followed by a newline unless it is the last turn; the
/// generation prompt <c>&lt;|assistant|&gt;\n</c> follows the last turn (so an empty conversation gets none).
/// <c>&lt;|user|&gt;</c> and the like are ordinary text, not special tokens. Generation stops at <c>&lt;|endoftext|&gt;</c>.
/// The OLMoE-0125 Instruct files write the same template without the leading <c>{{ bos_token }}</c>: construct it
/// with <c>bosToken: null</c> for that (what <see cref="ChatTemplateChoice"/> does when it reads such a file).
/// </summary>
public sealed class TuluChatTemplate : IChatTemplate
{
    private const string EndOfText = "<|endoftext|>";

    /// <summary>The 0924 form: <c>&lt;|endoftext|&gt;</c> as both the leading bos and the eos.</summary>
    public TuluChatTemplate()
        : this(EndOfText, EndOfText)
    {
    }

    /// <summary>The Tulu format with the given special tokens.</summary>
    /// <param name="bosToken">Text that opens the prompt (the model's bos token), or null or empty for none.</param>
    /// <param name="eosToken">Text that ends each assistant turn (the model's eos token).</param>
    public TuluChatTemplate(string? bosToken, string eosToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eosToken);
        BosToken = string.IsNullOrEmpty(bosToken) ? null : bosToken;
        EosToken = eosToken;
    }

    /// <summary>Text that opens every prompt, or null when none does.</summary>
    public string? BosToken { get; }

    /// <summary>Text that ends each assistant turn.</summary>
    public string EosToken { get; }

    /// <inheritdoc/>
    public override string ToString() => BosToken is null ? $"tulu (no leading bos, eos {EosToken})" : $"tulu (leading bos {BosToken}, eos {EosToken})";

    /// <inheritdoc/>
    public string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var prompt = new StringBuilder(BosToken ?? "");
        for (int i = 0; i < turns.Count; i++)
        {
            var turn = turns[i] ?? throw new ArgumentException($"Turn {i} is null.", nameof(turns));
            ArgumentNullException.ThrowIfNull(turn.Text, $"{nameof(turns)}[{i}].{nameof(ChatTurn.Text)}");
            bool last = i == turns.Count - 1;
            switch (turn.Role)
            {
                case TurnRole.System:
                    prompt.Append("<|system|>\n").Append(turn.Text).Append('\n');
                    break;
                case TurnRole.User:
                    prompt.Append("<|user|>\n").Append(turn.Text).Append('\n');
                    break;
                case TurnRole.Assistant:
                    prompt.Append("<|assistant|>\n").Append(turn.Text).Append(EosToken);
                    if (!last) prompt.Append('\n');
                    break;
                default:
                    throw new ArgumentException($"Turn {i} has the unknown role {turn.Role}.", nameof(turns));
            }
            if (last && addGenerationPrompt) prompt.Append("<|assistant|>\n");
        }
        return prompt.ToString();
    }
}
