namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Re-encodes stored matrices into another <see cref="WeightFormat"/> at load (into memory the caller provides),
/// e.g. bf16 into packed bf16. The caller sizes one allocation from <see cref="EncodedBytes"/> for all matrices.
/// </summary>
internal abstract unsafe class WeightEncoder
{
    /// <summary>The format it produces, for messages.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// True when the encoded format decodes in vector registers on this CPU. Where it does not, encoding would make
    /// every product slower than reading the stored format, and loading keeps the stored one.
    /// </summary>
    public abstract bool HasVectorDecoder { get; }

    /// <summary>The decoder the encoded format uses here ("avx2", say), for reports.</summary>
    public abstract string DecoderName { get; }

    /// <summary>What the encoding is, for reports ("12.5 bits per weight").</summary>
    public abstract string Encoding { get; }

    /// <summary>The stored format it encodes ("bf16"), for reports.</summary>
    public abstract string SourceName { get; }

    /// <summary>True when <paramref name="source"/> can be encoded; others are served as stored.</summary>
    public abstract bool CanEncode(in WeightMatrix source);

    /// <summary>Bytes of the encoded copy (each part aligned to <paramref name="alignment"/>).</summary>
    public abstract long EncodedBytes(in WeightMatrix source, int alignment);

    /// <summary>Encodes <paramref name="source"/> into <paramref name="target"/> (EncodedBytes long, aligned) and returns the view of it.</summary>
    public abstract WeightMatrix Encode(in WeightMatrix source, byte* target, int alignment);
}
