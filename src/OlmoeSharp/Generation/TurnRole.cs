namespace OlmoeSharp.Generation;

/// <summary>
/// Who speaks in a <see cref="ChatTurn"/>. (Named apart from Microsoft.Extensions.AI's <c>ChatRole</c>, which
/// <see cref="AI.OlmoeChatClient"/> maps onto it.)
/// </summary>
public enum TurnRole
{
    /// <summary>Instructions that frame the conversation.</summary>
    System,

    /// <summary>The person talking to the model.</summary>
    User,

    /// <summary>The model.</summary>
    Assistant,
}
