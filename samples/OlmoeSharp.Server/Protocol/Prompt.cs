namespace OlmoeSharp.Server.Protocol;

/// <summary>One prompt of a completion request: text to encode, or token ids as given.</summary>
internal sealed record Prompt(string? Text, IReadOnlyList<int>? Tokens);
