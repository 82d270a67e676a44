namespace OlmoeSharp.Generation;

/// <summary>Turns a conversation into the prompt text a chat model was trained on.</summary>
public interface IChatTemplate
{
    /// <summary>Renders <paramref name="turns"/> as prompt text (to be encoded with special-token matching on).</summary>
    /// <param name="turns">The conversation, oldest first.</param>
    /// <param name="addGenerationPrompt">Append the opening of an assistant turn, so the model writes the reply.</param>
    string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt);
}
