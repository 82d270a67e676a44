namespace OlmoeSharp.Generation;

/// <summary>One message of a conversation, as rendered by an <see cref="IChatTemplate"/>.</summary>
/// <param name="Role">Who speaks.</param>
/// <param name="Text">What is said, verbatim (templates do not trim it).</param>
public sealed record ChatTurn(TurnRole Role, string Text);
