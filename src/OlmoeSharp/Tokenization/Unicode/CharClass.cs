namespace OlmoeSharp.Tokenization.Unicode;

/// <summary>The classes the GPT-2 split regex distinguishes: <c>\p{L}</c>, <c>\p{N}</c>, <c>\s</c> and everything else.</summary>
internal enum CharClass : byte
{
    /// <summary>Neither a letter, a number nor white space (punctuation, symbols, marks, emoji, unassigned).</summary>
    Other = 0,

    /// <summary>General category L* (<c>\p{L}</c>).</summary>
    Letter = 1,

    /// <summary>General category N* (<c>\p{N}</c>).</summary>
    Number = 2,

    /// <summary>The White_Space property, which is what Oniguruma's Unicode <c>\s</c> matches.</summary>
    Space = 3,
}
