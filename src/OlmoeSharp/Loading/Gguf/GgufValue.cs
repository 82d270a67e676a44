namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// One metadata value of a GGUF file. A scalar is held as its .NET type (byte, sbyte, ushort, short, uint, int, float,
/// bool, string, ulong, long, double); an array as an array of that type (e.g. <c>string[]</c>, <c>int[]</c>).
/// </summary>
/// <param name="Type">The value's type in the file.</param>
/// <param name="ElementType">For an array, the type of its elements; otherwise the same as <paramref name="Type"/>.</param>
/// <param name="Value">The value (see the type's summary for its .NET type).</param>
public sealed record GgufValue(GgufValueType Type, GgufValueType ElementType, object Value)
{
    /// <summary>Number of elements of an array, or 1 for a scalar.</summary>
    public int Length => Value is Array array ? array.Length : 1;

    /// <summary>The type as a reader would say it: <c>uint32</c>, <c>string</c>, <c>array[string]</c>.</summary>
    public string TypeName => Type == GgufValueType.Array ? $"array[{Name(ElementType)}]" : Name(Type);

    /// <summary>The lower-case name of <paramref name="type"/>, as in ggml's docs/gguf.md.</summary>
    public static string Name(GgufValueType type) => type.ToString().ToLowerInvariant();
}
