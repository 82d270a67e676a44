using BenchmarkDotNet.Attributes;
using OlmoeSharp.Checkpoints;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// Whole-model steps on real sizes: one decoded token, and a prompt of 16 or 128 tokens (batched, experts grouped).
/// Set OLMOE_BENCH_MODEL to a full-size checkpoint (olmoe make-checkpoint --preset olmoe-1b-7b); without it a
/// small random model is generated, which shows relative changes only.
/// </summary>
[MemoryDiagnoser]
public class ModelBenchmarks
{
    private OlmoeModel _model = null!;
    private InferenceSession _session = null!;
    private float[] _logits = [];
    private int[] _prompt = [];
    private string? _temporary;

    [Params(16, 128)]
    public int PromptTokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string? folder = Environment.GetEnvironmentVariable("OLMOE_BENCH_MODEL");
        if (string.IsNullOrEmpty(folder))
        {
            folder = _temporary = Path.Combine(Path.GetTempPath(), "olmoe-bench-" + Guid.NewGuid().ToString("N"));
            RandomCheckpoint.Write(folder, RandomCheckpoint.Small);
        }
        _model = OlmoeModel.Load(folder);
        _logits = new float[_model.Config.VocabSize];
        var random = new Random(3);
        _prompt = Enumerable.Range(0, PromptTokens).Select(_ => random.Next(50280)).ToArray();
        _session = _model.CreateSession();
    }

    /// <summary>One decoded token after a short context (the cache is rewound each time).</summary>
    [Benchmark]
    public void DecodeOneToken()
    {
        _session.Truncate(0);
        _session.Evaluate([42], _logits);
    }

    /// <summary>A whole prompt processed as one block; tokens/s = PromptTokens / time.</summary>
    [Benchmark]
    public void Prefill()
    {
        _session.Truncate(0);
        _session.Evaluate(_prompt, _logits);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model.Dispose();
        if (_temporary is not null) Directory.Delete(_temporary, recursive: true);
    }
}
