using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Loading.Gguf;

/// <summary>
/// The weight format that reads each <see cref="GgmlType"/>, and from it how many elements one block holds and how
/// many bytes it takes — all a reader needs to size a tensor and check it fits (ggml's type_traits block_size and
/// type_size). A type without a format here is refused when the file is opened.
/// </summary>
internal static class GgmlTypeLayout
{
    private static readonly Dictionary<GgmlType, WeightFormat> Formats = new()
    {
        [GgmlType.F32] = F32Format.Instance,
        [GgmlType.F16] = F16Format.Instance,
        [GgmlType.BF16] = Bf16Format.Instance,
        [GgmlType.Q4_0] = Q4_0Format.Instance,
        [GgmlType.Q4_1] = Q4_1Format.Instance,
        [GgmlType.Q5_0] = Q5_0Format.Instance,
        [GgmlType.Q5_1] = Q5_1Format.Instance,
        [GgmlType.Q8_0] = Q8_0Format.Instance,
        [GgmlType.Q2_K] = Q2_KFormat.Instance,
        [GgmlType.Q3_K] = Q3_KFormat.Instance,
        [GgmlType.Q4_K] = Q4_KFormat.Instance,
        [GgmlType.Q5_K] = Q5_KFormat.Instance,
        [GgmlType.Q6_K] = Q6_KFormat.Instance,
        [GgmlType.IQ4_NL] = IQ4_NLFormat.Instance,
        [GgmlType.IQ4_XS] = IQ4_XSFormat.Instance,
    };

    /// <summary>The supported types with their ids, for the message that refuses an unknown one.</summary>
    public static string SupportedList { get; } =
        string.Join(", ", Formats.Keys.OrderBy(t => (uint)t).Select(t => $"{t} ({(uint)t})"));

    /// <summary>The format that reads tensors of <paramref name="type"/> (every type <see cref="TryGet"/> accepts has one).</summary>
    public static WeightFormat Format(GgmlType type) => Formats[type];

    /// <summary>The type whose tensors <paramref name="format"/> reads, or false for a format GGUF has no type for (packed bf16).</summary>
    public static bool TryGetType(WeightFormat format, out GgmlType type)
    {
        foreach (var (candidate, f) in Formats)
        {
            if (f != format) continue;
            type = candidate;
            return true;
        }
        type = default;
        return false;
    }

    /// <summary>The layout of type id <paramref name="id"/>, or false when this reader cannot size it.</summary>
    public static bool TryGet(uint id, out GgmlType type, out int blockSize, out int blockBytes)
    {
        type = (GgmlType)id;
        if (!Formats.TryGetValue(type, out var format))
        {
            (blockSize, blockBytes) = (0, 0);
            return false;
        }
        blockSize = format is GgmlBlockFormat block ? block.BlockSize : 1;
        blockBytes = (int)format.RowBytes(blockSize);
        return true;
    }
}
