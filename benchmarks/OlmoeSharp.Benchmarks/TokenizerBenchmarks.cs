using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// Encode throughput of the OLMoE tokenizer on about 1 MB of mixed text (prose, code, numbers, URLs, accented and
/// non-Latin scripts, emoji), single thread. "Warm" reuses one tokenizer, so most words hit the BPE cache, as in a
/// long-running server; "Cold" starts each iteration with a freshly loaded tokenizer and an empty cache.
/// The MB/s column is UTF-8 input megabytes (10^6 bytes) per second.
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private const int TextBytes = 1_000_000;
    private const int Seed = 42;

    private readonly List<int> _ids = new(400_000);
    private OlmoeTokenizer _tokenizer = null!;
    private string _text = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = OlmoeTokenizer.Load(FindTokenizer());
        _text = MixedText.Build(TextBytes, Seed);
    }

    [IterationSetup(Target = nameof(EncodeCold))]
    public void LoadFreshTokenizer() => _tokenizer = OlmoeTokenizer.Load(FindTokenizer());

    [Benchmark(Baseline = true)]
    public int EncodeWarm()
    {
        _ids.Clear();
        _tokenizer.Encode(_text, _ids);
        return _ids.Count;
    }

    [Benchmark]
    public int EncodeCold()
    {
        _ids.Clear();
        _tokenizer.Encode(_text, _ids);
        return _ids.Count;
    }

    internal static string FindTokenizer()
    {
        var shared = Environment.GetEnvironmentVariable("OLMOE_SHARED_DIR");
        if (!string.IsNullOrEmpty(shared))
        {
            return Path.Combine(shared, "tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("shared/tokenizers not found above " + AppContext.BaseDirectory + "; set OLMOE_SHARED_DIR.");
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new ThroughputColumn());
    }

    /// <summary>Input megabytes per second, from the mean time of one encode of the whole text.</summary>
    private sealed class ThroughputColumn : IColumn
    {
        // Columns are computed in the host process, which does not run GlobalSetup: rebuild the text to size it.
        private static readonly Lazy<int> ActualTextBytes = new(() => Encoding.UTF8.GetByteCount(MixedText.Build(TextBytes, Seed)));

        public string Id => nameof(ThroughputColumn);

        public string ColumnName => "MB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "UTF-8 input megabytes (10^6 bytes) encoded per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            summary[benchmarkCase]?.ResultStatistics is { } statistics
                ? (ActualTextBytes.Value / (statistics.Mean / 1e9) / 1e6).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)
                : "-";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;
    }
}
