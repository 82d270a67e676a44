namespace OlmoeSharp.Loading.Gguf;

/// <summary>One tensor as a GGUF file declares it, validated: its bytes lie inside the data section and overlap no other.</summary>
/// <param name="Name">The tensor's name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Type">Its storage type.</param>
/// <param name="Dimensions">Its dimensions, innermost (the row length) first, as ggml lists them.</param>
/// <param name="DataStart">Offset of its first byte relative to the start of the data section (a multiple of the alignment).</param>
/// <param name="ByteLength">Its size in bytes, from its type's block layout.</param>
public sealed record GgufTensor(string Name, GgmlType Type, IReadOnlyList<long> Dimensions, long DataStart, long ByteLength)
{
    /// <summary>Number of elements (the product of the dimensions).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long d in Dimensions) count *= d;
            return count;
        }
    }

    /// <summary>The dimensions as ggml prints them, innermost first, e.g. [256, 50304].</summary>
    public string ShapeText => "[" + string.Join(", ", Dimensions) + "]";
}
