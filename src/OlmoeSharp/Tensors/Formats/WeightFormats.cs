namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// The registry of weight formats: which format serves each element type a checkpoint stores, and which encoders
/// exist. A new format is a folder beside the others plus one line here.
/// </summary>
internal static class WeightFormats
{
    private static readonly Dictionary<TensorDType, WeightFormat> s_stored = new()
    {
        [TensorDType.BF16] = Bf16Format.Instance,
        [TensorDType.F16] = F16Format.Instance,
        [TensorDType.F32] = F32Format.Instance,
    };

    /// <summary>The format of matrices stored as <paramref name="type"/>; false when the kernels cannot read it.</summary>
    public static bool TryGetStored(TensorDType type, out WeightFormat format) => s_stored.TryGetValue(type, out format!);

    /// <summary>The element types matrices may be stored in, for messages.</summary>
    public static string StoredTypeNames => string.Join(", ", s_stored.Keys.Select(t => t.Name()));

    /// <summary>Lossless 12.5-bit re-encoding of bf16 matrices (<see cref="PackedBf16"/>).</summary>
    public static WeightEncoder PackedBf16 => PackedBf16Encoder.Instance;

    /// <summary>
    /// The lossless re-encoding that <see cref="WeightResidency.Packed"/> applies to these matrices: of packed
    /// bf16 and interleaved Q4_K/Q6_K/Q4_0, the one that takes the most of their bytes (packed bf16 when neither takes any).
    /// </summary>
    public static WeightEncoder LosslessEncoderFor(IReadOnlyList<WeightMatrix> matrices)
    {
        WeightEncoder[] encoders = [PackedBf16, Interleaving];
        return encoders.MaxBy(e => matrices.Where(m => e.CanEncode(m)).Sum(m => m.SizeInBytes))!;
    }

    /// <summary>Q4_K, Q6_K and Q4_0 matrices re-laid sixteen rows at a time for the mat-vec (<see cref="InterleavedFormat"/>), the same values.</summary>
    public static WeightEncoder Interleaving => InterleavingEncoder.Instance;
}
