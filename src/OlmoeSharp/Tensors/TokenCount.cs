namespace OlmoeSharp.Tensors;

/// <summary>
/// How many tokens a kernel instantiation handles (a tile's token slots that hold tokens, the tokens a row is dotted
/// with at once): a compile-time constant per instantiation, so the JIT drops the other slots' loads and arithmetic.
/// </summary>
internal interface ITokenCount
{
    static abstract int Count { get; }
}

internal struct One : ITokenCount { public static int Count => 1; }

internal struct Two : ITokenCount { public static int Count => 2; }

internal struct Three : ITokenCount { public static int Count => 3; }

internal struct Four : ITokenCount { public static int Count => 4; }
