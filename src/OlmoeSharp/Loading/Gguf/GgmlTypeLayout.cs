namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// How many elements one block of a <see cref="GgmlType"/> holds and how many bytes it takes — all a reader needs to
/// size a tensor and check it fits. The values are ggml's <c>type_traits</c> (block_size, type_size).
/// </summary>
internal static class GgmlTypeLayout
{
    private static readonly Dictionary<GgmlType, (int BlockSize, int BlockBytes)> Layouts = new()
    {
        [GgmlType.F32] = (1, 4),
        [GgmlType.F16] = (1, 2),
        [GgmlType.BF16] = (1, 2),
        [GgmlType.Q4_0] = (32, 2 + 16),
        [GgmlType.Q4_1] = (32, 2 + 2 + 16),
        [GgmlType.Q5_0] = (32, 2 + 4 + 16),
        [GgmlType.Q5_1] = (32, 2 + 2 + 4 + 16),
        [GgmlType.Q8_0] = (32, 2 + 32),
        [GgmlType.Q2_K] = (256, 16 + 64 + 2 + 2),
        [GgmlType.Q3_K] = (256, 32 + 64 + 12 + 2),
        [GgmlType.Q4_K] = (256, 2 + 2 + 12 + 128),
        [GgmlType.Q5_K] = (256, 2 + 2 + 12 + 32 + 128),
        [GgmlType.Q6_K] = (256, 128 + 64 + 16 + 2),
        [GgmlType.IQ4_NL] = (32, 2 + 16),
        [GgmlType.IQ4_XS] = (256, 2 + 2 + 4 + 128),
    };

    /// <summary>The supported types with their ids, for the message that refuses an unknown one.</summary>
    public static string SupportedList { get; } =
        string.Join(", ", Layouts.Keys.OrderBy(t => (uint)t).Select(t => $"{t} ({(uint)t})"));

    /// <summary>The layout of type id <paramref name="id"/>, or false when this reader cannot size it.</summary>
    public static bool TryGet(uint id, out GgmlType type, out int blockSize, out int blockBytes)
    {
        type = (GgmlType)id;
        bool known = Layouts.TryGetValue(type, out var layout);
        (blockSize, blockBytes) = layout;
        return known;
    }
}
