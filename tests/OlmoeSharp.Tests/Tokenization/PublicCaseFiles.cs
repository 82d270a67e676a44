using System.Text.Json;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>The JSON-lines case files of shared/tokenizers, one theory case per non-empty line.</summary>
internal static class PublicCaseFiles
{
    /// <summary>The 1-based numbers of the non-empty lines of <paramref name="file"/>.</summary>
    public static TheoryData<int> LineNumbers(string file)
    {
        var data = new TheoryData<int>();
        var lines = File.ReadAllLines(SharedData.Path("tokenizers", file));
        for (int i = 0; i < lines.Length; i++)
        {
            if (!string.IsNullOrWhiteSpace(lines[i])) data.Add(i + 1);
        }
        return data;
    }

    /// <summary>Line <paramref name="line"/> (1-based) of <paramref name="file"/> as JSON.</summary>
    public static JsonDocument Read(string file, int line) =>
        JsonDocument.Parse(File.ReadLines(SharedData.Path("tokenizers", file)).ElementAt(line - 1));
}
