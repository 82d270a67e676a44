using System.Text;
using BenchmarkDotNet.Attributes;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Benchmarks;

/// <summary>
/// Encode throughput on about 1 MB of mixed text (English prose, code, numbers, accents, CJK, emoji).
/// MB/s = 1 / time in seconds. Needs the tokenizer file: OLMOE_TOKENIZER, or shared/tokenizers beside the checkout.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private OlmoeTokenizer _tokenizer = null!;
    private string _text = "";

    [GlobalSetup]
    public void Setup()
    {
        string path = Environment.GetEnvironmentVariable("OLMOE_TOKENIZER") ?? FindSharedTokenizer();
        _tokenizer = OlmoeTokenizer.Load(path);
        string[] samples =
        [
            "The quick brown fox jumps over the lazy dog. It's a sentence we've all seen, isn't it? ",
            "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
            "In 2024, revenue grew 13.7% to $4,512,339.08 (Q3: 1,204,556). ",
            "Crème brûlée, naïve café, Zürich, São Paulo, Łódź. ",
            "人工智能正在改变世界。機械学習は重要です。 ",
            "Emoji 🧑🏿‍💻🚀✨ and symbols ≤ ≥ ∑ ∫ → ⇒. ",
        ];
        var builder = new StringBuilder();
        var random = new Random(4);
        while (Encoding.UTF8.GetByteCount(builder.ToString()) < 1_000_000 && builder.Length < 1_000_000)
            builder.Append(samples[random.Next(samples.Length)]).Append(random.Next(100000));
        _text = builder.ToString();
    }

    [Benchmark]
    public int EncodeOneMegabyte() => _tokenizer.Encode(_text).Length;

    private static string FindSharedTokenizer()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tokenizer not found; set OLMOE_TOKENIZER.");
    }
}
