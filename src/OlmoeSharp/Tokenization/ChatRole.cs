namespace OlmoeSharp.Tokenization;

/// <summary>Who speaks in a <see cref="ChatTurn"/>.</summary>
public enum ChatRole
{
    /// <summary>Instructions that frame the conversation.</summary>
    System,

    /// <summary>The person talking to the model.</summary>
    User,

    /// <summary>The model.</summary>
    Assistant,
}
