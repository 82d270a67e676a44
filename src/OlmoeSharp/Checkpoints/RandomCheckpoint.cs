using System.Buffers.Binary;
using System.Text.Json;
using OlmoeSharp.Loading;
using OlmoeSharp.Model;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Checkpoints;

/// <summary>How <see cref="RandomCheckpoint.Write"/> lays out a random checkpoint.</summary>
public sealed record RandomCheckpointOptions
{
    /// <summary>Storage type of the weights (BF16, F16 or F32).</summary>
    public TensorDType DType { get; init; } = TensorDType.BF16;

    /// <summary>Number of safetensors files; more than one adds model.safetensors.index.json.</summary>
    public int Shards { get; init; } = 1;

    /// <summary>Seed of the weights: same seed, same values, whatever the dtype or shard count.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Write experts fused per layer (gate_up_proj [E, 2I, d], down_proj [E, d, I]) as newer transformers do.</summary>
    public bool FusedExperts { get; init; }

    /// <summary>Receives the number of weight bytes written so far.</summary>
    public IProgress<long>? Progress { get; init; }
}

/// <summary>
/// Writes a checkpoint with random weights in exact Hugging Face layout (config.json, generation_config.json, one or
/// more safetensors files and their index): the stand-in for the real weights in tests and benchmarks. Weights are
/// offset + scale·z with z roughly standard normal, scaled so activations stay O(1) and router choices vary.
/// </summary>
public static class RandomCheckpoint
{
    /// <summary>A small model with the full vocabulary (≈30 MB in bf16): enough to exercise every code path quickly.</summary>
    public static OlmoeConfig Tiny { get; } = OlmoeConfig.Olmoe1B7B with
    {
        HiddenSize = 64, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 4,
        NumExperts = 8, NumExpertsPerToken = 2, MaxPositionEmbeddings = 512,
    };

    /// <summary>A mid-sized model (≈300 MB in bf16) whose per-token work is large enough to time kernels.</summary>
    public static OlmoeConfig Small { get; } = OlmoeConfig.Olmoe1B7B with
    {
        HiddenSize = 512, IntermediateSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 8, NumKeyValueHeads = 8,
        NumExperts = 16, NumExpertsPerToken = 4,
    };

    /// <summary>The preset named "tiny", "small" or "olmoe-1b-7b" (full size, 13.8 GB in bf16).</summary>
    public static OlmoeConfig Preset(string name) => name switch
    {
        "tiny" => Tiny,
        "small" => Small,
        "olmoe-1b-7b" => OlmoeConfig.Olmoe1B7B,
        _ => throw new ArgumentException($"unknown preset \"{name}\"; use tiny, small or olmoe-1b-7b.", nameof(name)),
    };

    /// <summary>Writes the checkpoint into <paramref name="directory"/> (created if needed).</summary>
    public static void Write(string directory, OlmoeConfig config, RandomCheckpointOptions? options = null)
    {
        options ??= new RandomCheckpointOptions();
        config.Validate("config");
        if (options.DType is not (TensorDType.BF16 or TensorDType.F16 or TensorDType.F32))
            throw new ArgumentException($"{options.DType} is not a type random weights are written in; use BF16, F16 or F32.", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Shards, 1, nameof(options.Shards));
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(directory, "generation_config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["bos_token_id"] = config.BosTokenId,
            ["eos_token_id"] = config.EosTokenIds.Count > 0 ? config.EosTokenIds[0] : null,
            ["pad_token_id"] = config.PadTokenId,
        }, new JsonSerializerOptions { WriteIndented = true }));

        var tensors = Tensors(config, options);
        long written = 0;
        ShardedCheckpointWriter.Write(directory, SplitIntoShards(tensors, options.Shards), n => { written += n; options.Progress?.Report(written); });
    }

    private static List<TensorToWrite> Tensors(OlmoeConfig c, RandomCheckpointOptions o)
    {
        long d = c.HiddenSize, inter = c.IntermediateSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize, e = c.NumExperts;
        float projection = 1f / MathF.Sqrt(d), down = 1f / MathF.Sqrt(inter), logit = 2f / MathF.Sqrt(d);
        var list = new List<TensorToWrite>();
        void Add(string name, long[] shape, float offset, float scale) => list.Add(Random(name, shape, offset, scale, o));

        Add(TensorNames.Embeddings, [c.VocabSize, d], 0, 1);
        for (int l = 0; l < c.NumHiddenLayers; l++)
        {
            Add(TensorNames.InputNorm(l), [d], 1, 0.1f);
            Add(TensorNames.QProj(l), [q, d], 0, projection);
            Add(TensorNames.KProj(l), [kv, d], 0, projection);
            Add(TensorNames.VProj(l), [kv, d], 0, projection);
            Add(TensorNames.OProj(l), [d, q], 0, 1f / MathF.Sqrt(q));
            Add(TensorNames.QNorm(l), [q], 1, 0.1f);
            Add(TensorNames.KNorm(l), [kv], 1, 0.1f);
            Add(TensorNames.PostAttentionNorm(l), [d], 1, 0.1f);
            Add(TensorNames.Router(l), [e, d], 0, logit);
            if (o.FusedExperts)
            {
                Add(TensorNames.FusedGateUp(l), [e, 2 * inter, d], 0, projection);
                Add(TensorNames.FusedDown(l), [e, d, inter], 0, down);
                continue;
            }
            for (int x = 0; x < e; x++)
            {
                Add(TensorNames.ExpertGate(l, x), [inter, d], 0, projection);
                Add(TensorNames.ExpertUp(l, x), [inter, d], 0, projection);
                Add(TensorNames.ExpertDown(l, x), [d, inter], 0, down);
            }
        }
        Add(TensorNames.FinalNorm, [d], 1, 0.1f);
        if (!c.TieWordEmbeddings) Add(TensorNames.LmHead, [c.VocabSize, d], 0, logit);
        return list;
    }

    /// <summary>A tensor whose values depend only on the seed, its name and the element index.</summary>
    private static TensorToWrite Random(string name, long[] shape, float offset, float scale, RandomCheckpointOptions o)
    {
        ulong tensorSeed = o.Seed ^ Fnv1a(name);
        var dtype = o.DType;
        int size = dtype.SizeInBytes();
        return new TensorToWrite(name, dtype, shape, (span, byteOffset) =>
        {
            ulong index = (ulong)(byteOffset / size);
            int count = span.Length / size;
            for (int i = 0; i < count; i++)
            {
                float value = offset + scale * StandardNormalish(tensorSeed, index + (ulong)i);
                var slot = span.Slice(i * size, size);
                switch (dtype)
                {
                    case TensorDType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(slot, BFloat16Kernels.FromSingle(value)); break;
                    case TensorDType.F16: BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)value); break;
                    default: BinaryPrimitives.WriteSingleLittleEndian(slot, value); break;
                }
            }
        });
    }

    /// <summary>
    /// Mean 0, variance 1, from one hash of (seed, index): the sum of four 16-bit uniforms (Irwin–Hall), scaled.
    /// Close enough to normal for weights, and cheap enough to write 7 billion values in seconds.
    /// </summary>
    private static float StandardNormalish(ulong seed, ulong index)
    {
        ulong bits = SplitMix64(seed + index * 0x9E3779B97F4A7C15UL);
        float sum = (bits & 0xFFFF) + ((bits >> 16) & 0xFFFF) + ((bits >> 32) & 0xFFFF) + (bits >> 48);
        return (sum / 65536f - 2f) * 1.7320508f;
    }

    private static ulong SplitMix64(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Fnv1a(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char ch in text) hash = (hash ^ ch) * 1099511628211UL;
        return hash;
    }

    /// <summary>Consecutive runs of tensors of about equal byte size, one per shard.</summary>
    private static List<IReadOnlyList<TensorToWrite>> SplitIntoShards(List<TensorToWrite> tensors, int shards)
    {
        shards = Math.Min(shards, tensors.Count);
        long total = tensors.Sum(t => t.ByteCount), before = 0;
        var result = Enumerable.Range(0, shards).Select(_ => new List<TensorToWrite>()).ToList();
        foreach (var tensor in tensors)
        {
            int shard = (int)Math.Min(shards - 1, (long)((double)before * shards / Math.Max(total, 1)));
            result[shard].Add(tensor);
            before += tensor.ByteCount;
        }
        result.RemoveAll(s => s.Count == 0);
        return [.. result];
    }
}
