using System.Buffers.Binary;
using System.IO.Hashing;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp;

/// <summary>
/// The binary format of a saved <see cref="InferenceSession"/> (<see cref="InferenceSession.SaveState"/>,
/// <see cref="OlmoeModel.LoadSession"/>), little-endian:
/// <code>
///  0  magic "OLMoEKV\x1A"                      8 bytes
///  8  format version (1)                       u32
/// 12  KV cache precision (0 f32, 1 bf16)       u32
/// 16  layers, kv heads, head dim, vocab, max positions   5 × u32 (for the error message; the hash below decides)
/// 36  config hash (XxHash3 of every field that shapes the KV values)   u64
/// 44  weights fingerprint (<see cref="WeightsFingerprint"/>)            u64
/// 52  positions P                              u32
/// 56  XxHash3 of bytes 0–55                    u64
/// 64  the P token ids                          P × i32
///     per layer, per kv head: its P keys, then its P values (P × headDim elements of 4 or 2 bytes, head-major as
///     <see cref="KvCache"/> stores them, so each is one large write)
///     XxHash3 of everything before             u64
/// </code>
/// Size: 72 + P × (4 + layers × 2 × kvHeads × headDim × 4 or 2) bytes — 256 KiB + 4 bytes per token on the full
/// model with a float32 cache (1.0 GB for 4,000 tokens), half that with bf16.
/// </summary>
internal static class SessionStateFormat
{
    public const int Version = 1;
    public const int HeaderBytes = 64;
    public static ReadOnlySpan<byte> Magic => "OLMoEKV\x1A"u8;

    /// <summary>Bytes a state of <paramref name="positions"/> positions takes, header and checksum included.</summary>
    public static long SizeInBytes(long positions, long bytesPerPosition) => HeaderBytes + positions * (sizeof(int) + bytesPerPosition) + sizeof(ulong);

    public static void Write(Stream stream, OlmoeConfig config, ulong weightsFingerprint, KvCache cache, ReadOnlySpan<int> tokens)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("session states are written on little-endian machines only.");
        var hash = new XxHash3();
        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)cache.Precision);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], config.NumHiddenLayers);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], config.NumKeyValueHeads);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], config.HeadDim);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], config.VocabSize);
        BinaryPrimitives.WriteInt32LittleEndian(header[32..], config.MaxPositionEmbeddings);
        BinaryPrimitives.WriteUInt64LittleEndian(header[36..], ConfigHash(config));
        BinaryPrimitives.WriteUInt64LittleEndian(header[44..], weightsFingerprint);
        BinaryPrimitives.WriteInt32LittleEndian(header[52..], tokens.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[56..], XxHash3.HashToUInt64(header[..56]));
        Put(stream, hash, header);
        Put(stream, hash, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tokens));
        for (int l = 0; l < cache.Layers; l++)
            for (int h = 0; h < cache.Heads; h++)
            {
                Put(stream, hash, cache.HeadBytes(l, h, values: false, tokens.Length));
                Put(stream, hash, cache.HeadBytes(l, h, values: true, tokens.Length));
            }
        Span<byte> checksum = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, hash.GetCurrentHashAsUInt64());
        stream.Write(checksum);
    }

    private static void Put(Stream stream, XxHash3 hash, ReadOnlySpan<byte> bytes)
    {
        hash.Append(bytes);
        stream.Write(bytes);
    }

    /// <summary>
    /// Reads a state into a new session of <paramref name="model"/>, refusing (before allocating anything sized by the
    /// stream) a foreign, future, truncated, corrupted or inconsistent one.
    /// </summary>
    public static InferenceSession Read(Stream stream, OlmoeModel model)
    {
        string source = stream is FileStream file ? file.Name : "session state";
        var config = model.Config;
        var hash = new XxHash3();
        Span<byte> header = stackalloc byte[HeaderBytes];
        Take(stream, hash, header, source, "header");
        if (!header[..8].SequenceEqual(Magic))
            throw new ModelFormatException(source, "not an OlmoeSharp session state (wrong magic bytes).", "magic");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != Version)
            throw new ModelFormatException(source, version > Version
                ? $"format version {version} is newer than this library reads ({Version}); update OlmoeSharp."
                : $"format version {version} is not one this library reads ({Version}).", "version");
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[56..]) != XxHash3.HashToUInt64(header[..56]))
            throw new ModelFormatException(source, "the header is corrupted (its checksum does not match).", "header checksum");
        int layers = BinaryPrimitives.ReadInt32LittleEndian(header[16..]), kvHeads = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        int headDim = BinaryPrimitives.ReadInt32LittleEndian(header[24..]), vocab = BinaryPrimitives.ReadInt32LittleEndian(header[28..]);
        int maxPositions = BinaryPrimitives.ReadInt32LittleEndian(header[32..]);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[36..]) != ConfigHash(config))
            throw new ModelFormatException(source,
                $"saved by another model ({layers} layers, {kvHeads} kv heads × {headDim}, vocab {vocab}, context {maxPositions}; this one: " +
                $"{config.NumHiddenLayers}, {config.NumKeyValueHeads} × {config.HeadDim}, {config.VocabSize}, {config.MaxPositionEmbeddings}, or another field differs).", "config");
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[44..]) != model.WeightsFingerprint)
            throw new ModelFormatException(source, "saved by a model with other weights (same config, different weights fingerprint).", "weights fingerprint");
        uint precision = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (precision != (uint)model.KvCachePrecision)
            throw new ModelFormatException(source,
                $"holds a {(Enum.IsDefined((KvCachePrecision)precision) ? ((KvCachePrecision)precision).ToString() : $"unknown ({precision})")} KV cache; this model's sessions use {model.KvCachePrecision}.", "precision");
        int positions = BinaryPrimitives.ReadInt32LittleEndian(header[52..]);
        if (positions < 0 || positions > config.MaxPositionEmbeddings)
            throw new ModelFormatException(source, $"claims {positions} positions; the model's context holds at most {config.MaxPositionEmbeddings}.", "positions");

        long bytesPerPosition = (long)config.NumHiddenLayers * 2 * config.NumKeyValueHeads * config.HeadDim
            * (model.KvCachePrecision == KvCachePrecision.Float32 ? sizeof(float) : sizeof(ushort));
        long expected = SizeInBytes(positions, bytesPerPosition);
        if (stream.CanSeek && stream.Length - stream.Position < expected - HeaderBytes)
            throw new ModelFormatException(source, $"truncated: {positions} positions need {expected} bytes, the stream holds {stream.Length - stream.Position + HeaderBytes}.", "length");
        // Non-seekable streams: positions is bounded by the context, so at most one full-context cache is allocated.
        var session = new InferenceSession(model);
        var cache = session.Cache;
        var tokens = new int[positions];
        Take(stream, hash, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tokens.AsSpan()), source, "tokens");
        cache.EnsureCapacity(positions);
        for (int l = 0; l < cache.Layers; l++)
            for (int h = 0; h < cache.Heads; h++)
            {
                Take(stream, hash, cache.HeadBytes(l, h, values: false, positions), source, "keys");
                Take(stream, hash, cache.HeadBytes(l, h, values: true, positions), source, "values");
            }
        Span<byte> checksum = stackalloc byte[sizeof(ulong)];
        Take(stream, null, checksum, source, "checksum");
        if (BinaryPrimitives.ReadUInt64LittleEndian(checksum) != hash.GetCurrentHashAsUInt64())
            throw new ModelFormatException(source, "corrupted: the checksum of the tokens and KV data does not match.", "checksum");
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)config.VocabSize)
                throw new ModelFormatException(source, $"token {tokens[i]} at index {i} is outside the vocabulary [0, {config.VocabSize}).", "tokens");
        session.Restore(tokens);
        return session;
    }

    private static void Take(Stream stream, XxHash3? hash, Span<byte> into, string source, string field)
    {
        try
        {
            stream.ReadExactly(into);
        }
        catch (EndOfStreamException e)
        {
            throw new ModelFormatException(source, "truncated: the stream ends inside the state.", field, e);
        }
        hash?.Append(into);
    }

    /// <summary>XxHash3 of every config field that shapes what the KV cache holds.</summary>
    public static ulong ConfigHash(OlmoeConfig c)
    {
        Span<byte> b = stackalloc byte[64];
        int[] ints = [c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads,
            c.NumExperts, c.NumExpertsPerToken, c.MaxPositionEmbeddings, c.NormTopKProb ? 1 : 0, c.TieWordEmbeddings ? 1 : 0,
            c.ClipQkv is float clip ? BitConverter.SingleToInt32Bits(clip) : -1, BitConverter.SingleToInt32Bits(c.RopeTheta),
            BitConverter.SingleToInt32Bits(c.RmsNormEps)];
        for (int i = 0; i < ints.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b[(i * 4)..], ints[i]);
        return XxHash3.HashToUInt64(b[..(ints.Length * 4)]);
    }

    /// <summary>
    /// A cheap fingerprint of the weights' values (never reading the whole checkpoint): every norm vector, and a few
    /// rows of the embedding table, LM head, and each layer's attention, router and first and last experts, widened to
    /// float32. Lossless re-encodings (packed, preloaded) give the same fingerprint; quantized weights or another
    /// checkpoint give another.
    /// </summary>
    public static ulong WeightsFingerprint(OlmoeWeights w)
    {
        var hash = new XxHash3();
        var row = new float[Math.Max(w.Embeddings.Cols, w.Layers.Max(l => Math.Max(l.Experts[0].Down.Cols, l.Q.Cols)))];
        void Vector(float[] v) => hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()));
        void Row(in WeightMatrix m, int r)
        {
            var dst = row.AsSpan(0, m.Cols);
            MatVec.WidenRow(m, r, dst);
            hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst));
        }
        Row(w.Embeddings, 0);
        Row(w.Embeddings, w.Embeddings.Rows / 2);
        Row(w.Embeddings, w.Embeddings.Rows - 1);
        Row(w.LmHead, 1);
        Row(w.LmHead, w.LmHead.Rows - 2);
        Vector(w.FinalNorm);
        foreach (var layer in w.Layers)
        {
            Vector(layer.InputNorm);
            Vector(layer.QNorm);
            Vector(layer.KNorm);
            Vector(layer.PostAttentionNorm);
            Row(layer.Q, 0);
            Row(layer.K, layer.K.Rows - 1);
            Row(layer.V, layer.V.Rows / 2);
            Row(layer.O, 0);
            Row(layer.Router, layer.Router.Rows - 1);
            Row(layer.Experts[0].Gate, 0);
            Row(layer.Experts[^1].Down, layer.Experts[^1].Down.Rows - 1);
        }
        return hash.GetCurrentHashAsUInt64();
    }
}
