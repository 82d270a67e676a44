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
/// </summary>
public sealed class TuluChatTemplate : IChatTemplate
{
    private const string EndOfText = "<|endoftext|>";

    /// <inheritdoc/>
    public string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var prompt = new StringBuilder(EndOfText);
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
                    prompt.Append("<|assistant|>\n").Append(turn.Text).Append(EndOfText);
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
