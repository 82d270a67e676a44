using System.Text;
using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

/// <summary>One test's world: a fake hub on loopback and a fresh, private cache folder, both gone after the test.</summary>
internal sealed class HubTestBed : IAsyncDisposable
{
    public const string RepoId = "allenai/OLMoE-test";

    public HubTestBed(bool filesOnHubHost = false)
    {
        Server = new FakeHub(filesOnHubHost);
        Root = Directory.CreateTempSubdirectory("olmoe-hub-tests-").FullName;
        Options = new HubOptions
        {
            Endpoint = Server.Endpoint,
            CacheDirectory = Path.Combine(Root, "hub"),
            Timeout = TimeSpan.FromSeconds(5),
        };
    }

    public FakeHub Server { get; }

    /// <summary>The temp folder holding the cache (and anything a test writes beside it).</summary>
    public string Root { get; }

    public HubOptions Options { get; }

    /// <summary>The repo's folder in the cache, <c>models--allenai--OLMoE-test</c>.</summary>
    public string RepoFolder => Path.Combine(Options.CacheDirectory, "models--allenai--OLMoE-test");

    public ModelResolver Resolver(HubOptions? options = null) => new(options ?? Options);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>The files of a small unsharded model, plus one file a model does not need.</summary>
    public static Dictionary<string, byte[]> SingleFileModel(int weightBytes = 256 * 1024, int seed = 1) => new()
    {
        ["config.json"] = Encoding.UTF8.GetBytes("""{"model_type":"olmoe","hidden_size":8}"""),
        ["generation_config.json"] = Encoding.UTF8.GetBytes("""{"eos_token_id":50279}"""),
        ["tokenizer.json"] = Encoding.UTF8.GetBytes("""{"version":"1.0","model":{"type":"BPE"}}"""),
        ["tokenizer_config.json"] = Encoding.UTF8.GetBytes("""{"model_max_length":4096}"""),
        ["model.safetensors"] = RandomBytes(weightBytes, seed),
        ["README.md"] = Encoding.UTF8.GetBytes("# not needed to load the model"),
    };

    /// <summary>The files of a small model in two shards named by an index.</summary>
    public static Dictionary<string, byte[]> ShardedModel(string indexJson = """
        {"metadata":{"total_size":3},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00001-of-00002.safetensors"}}
        """)
    {
        var files = SingleFileModel();
        files.Remove("model.safetensors");
        files["model.safetensors.index.json"] = Encoding.UTF8.GetBytes(indexJson);
        files["model-00001-of-00002.safetensors"] = RandomBytes(64 * 1024, 2);
        files["model-00002-of-00002.safetensors"] = RandomBytes(48 * 1024, 3);
        return files;
    }

    /// <summary>The quant the tests of GGUF repos usually ask for, and its file in <see cref="GgufModelRepo"/>.</summary>
    public const string Q4KM = "olmoe-1b-7b-0125-instruct-q4_k_m.gguf";

    /// <summary>A repo of GGUF files as allenai publishes them (no config.json), with a README and .gitattributes.</summary>
    public static Dictionary<string, byte[]> GgufModelRepo() => new()
    {
        [".gitattributes"] = Encoding.UTF8.GetBytes("*.gguf filter=lfs diff=lfs merge=lfs -text"),
        ["README.md"] = Encoding.UTF8.GetBytes("# OLMoE GGUF"),
        [Q4KM] = RandomBytes(256 * 1024, 11),
        ["olmoe-1b-7b-0125-instruct-q4_k_s.gguf"] = RandomBytes(64 * 1024, 12),
        ["olmoe-1b-7b-0125-instruct-q8_0.gguf"] = RandomBytes(96 * 1024, 13),
    };

    public static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
