namespace OlmoeSharp.Tokenization;

/// <summary>Who speaks in a chat turn.</summary>
public enum ChatRole
{
    /// <summary>Instructions that frame the conversation.</summary>
    System,
    /// <summary>The person.</summary>
    User,
    /// <summary>The model.</summary>
    Assistant,
}

/// <summary>One message of a conversation.</summary>
/// <param name="Role">Who says it.</param>
/// <param name="Text">What is said.</param>
public sealed record ChatTurn(ChatRole Role, string Text);

/// <summary>Renders a conversation into the prompt text a model was trained on.</summary>
public interface IChatTemplate
{
    /// <summary>The prompt for <paramref name="turns"/>; with <paramref name="addGenerationPrompt"/>, ending where the assistant's answer begins.</summary>
    string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt);
}

/// <summary>
/// The Tulu format of OLMoE-Instruct: <c>&lt;|endoftext|&gt;</c>, then per message <c>&lt;|system|&gt;\n{text}\n</c>,
/// <c>&lt;|user|&gt;\n{text}\n</c> or <c>&lt;|assistant|&gt;\n{text}&lt;|endoftext|&gt;</c>; the generation prompt is
/// <c>&lt;|assistant|&gt;\n</c>. The role markers are ordinary text, not special tokens.
/// </summary>
public sealed class TuluChatTemplate : IChatTemplate
{
    /// <inheritdoc />
    public string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var builder = new System.Text.StringBuilder("<|endoftext|>");
        foreach (var turn in turns)
        {
            ArgumentNullException.ThrowIfNull(turn, nameof(turns));
            _ = turn.Role switch
            {
                ChatRole.System => builder.Append("<|system|>\n").Append(turn.Text).Append('\n'),
                ChatRole.User => builder.Append("<|user|>\n").Append(turn.Text).Append('\n'),
                ChatRole.Assistant => builder.Append("<|assistant|>\n").Append(turn.Text).Append("<|endoftext|>"),
                _ => throw new ArgumentOutOfRangeException(nameof(turns), turn.Role, "unknown chat role."),
            };
        }
        if (addGenerationPrompt) builder.Append("<|assistant|>\n");
        return builder.ToString();
    }
}
