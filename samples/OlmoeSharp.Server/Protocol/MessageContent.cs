namespace OlmoeSharp.Server.Protocol;

/// <summary>
/// A chat message's content: its text, or — when a content part is of a type other than text — that type, so the
/// validator can refuse it naming the message.
/// </summary>
internal sealed record MessageContent(string Text, string? UnsupportedPartType = null);
