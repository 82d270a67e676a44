using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>The real OLMoE tokenizer, loaded once for all tests.</summary>
internal static class TokenizerFixture
{
    private static readonly Lazy<OlmoeTokenizer> Instance = new(() => OlmoeTokenizer.FromFile(FilePath));

    public static string FilePath => SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json");

    public static OlmoeTokenizer Tokenizer => Instance.Value;
}
