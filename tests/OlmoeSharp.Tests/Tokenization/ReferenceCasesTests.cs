using System.IO.Compression;
using System.Text.Json;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>
/// Expectations produced by the reference implementation itself (Hugging Face tokenizers 0.23.2, Rust core, run by
/// tools/reference/make-reference-cases.js) for inputs aimed at the corners: text over all planes, every combining
/// mark and canonical composition, a code-point sweep of the regex classes, and broken UTF-8 in decoding.
/// </summary>
public sealed class ReferenceCasesTests
{
    [Fact]
    public void Encode_and_decode_match_the_reference_on_every_case()
    {
        var tokenizer = TokenizerFixture.Tokenizer;
        var failures = new List<string>();
        int count = 0;
        foreach (string line in ReadLines())
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            int[] ids = [.. root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
            count++;
            if (root.TryGetProperty("text", out var text))
            {
                int[] actual = [.. tokenizer.Encode(text.GetString()!)];
                if (!actual.SequenceEqual(ids))
                    failures.Add($"encode {JsonSerializer.Serialize(text.GetString())}: [{string.Join(",", actual)}], expected [{string.Join(",", ids)}]");
            }
            else
            {
                Check("decode", tokenizer.Decode(ids), root.GetProperty("decode").GetString()!);
                Check("decode skipping special tokens", tokenizer.Decode(ids, skipSpecialTokens: true), root.GetProperty("decode_skip_special").GetString()!);
            }

            void Check(string what, string actual, string expected)
            {
                if (actual != expected)
                    failures.Add($"{what} [{string.Join(",", ids)}]: {JsonSerializer.Serialize(actual)}, expected {JsonSerializer.Serialize(expected)}");
            }
        }

        Assert.True(count > 10_000, $"only {count} reference cases read");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} differ; first: {string.Join(" | ", failures.Take(5))}");
    }

    private static IEnumerable<string> ReadLines()
    {
        using var stream = typeof(ReferenceCasesTests).Assembly.GetManifestResourceStream("reference-cases.jsonl.gz")
            ?? throw new InvalidOperationException("reference-cases.jsonl.gz is not embedded");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0) yield return line;
        }
    }
}
