namespace OlmoeSharp.Hub;

/// <summary>
/// The files of a repo that loading a model needs. Only these are downloaded: repos also hold other weight formats,
/// images and notebooks that would cost gigabytes for nothing.
/// </summary>
internal static class ModelFiles
{
    /// <summary>The model's hyper-parameters; always required.</summary>
    public const string Config = "config.json";

    /// <summary>The tokenizer; always required.</summary>
    public const string Tokenizer = "tokenizer.json";

    /// <summary>The weights of an unsharded model.</summary>
    public const string SingleWeights = "model.safetensors";

    /// <summary>The index of a sharded model, naming the shard of every tensor.</summary>
    public const string WeightsIndex = "model.safetensors.index.json";

    /// <summary>Files used when present; a repo without them still loads.</summary>
    public static IReadOnlyList<string> Optional { get; } = ["generation_config.json", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>True when <paramref name="snapshot"/> holds every required file, including every shard its index names.</summary>
    /// <exception cref="ModelFormatException">The index in the snapshot is malformed or names an unsafe shard.</exception>
    public static bool IsComplete(string snapshot)
    {
        bool Has(string name) => RepoCache.IsPresent(Path.Combine(snapshot, name));
        if (!Has(Config) || !Has(Tokenizer)) return false;
        if (Has(WeightsIndex)) return ShardIndex.ReadShardNames(Path.Combine(snapshot, WeightsIndex)).All(Has);
        return Has(SingleWeights);
    }
}
