using System.Diagnostics;
using OlmoeSharp.Loading.Gguf;

namespace OlmoeSharp.Tests.Hostile.Gguf;

/// <summary>The assertion every hostile GGUF test ends with: opening fails fast with a typed error naming the culprit.</summary>
internal static class GgufAssert
{
    /// <summary>Generous for a file of a few hundred bytes: a reader that loops on a lying count would take far longer.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Opening <paramref name="path"/> fails with a <see cref="ModelFormatException"/> whose message starts with the
    /// file and names <paramref name="item"/> (null: the file as a whole is at fault).
    /// </summary>
    public static ModelFormatException Rejects(string path, string? item)
    {
        var error = RejectsFile(path);
        Assert.Equal(item, error.Item);
        if (item is not null) Assert.Contains($"'{item}'", error.Message);
        return error;
    }

    /// <summary>Opening <paramref name="path"/> fails, quickly, with a <see cref="ModelFormatException"/> naming it.</summary>
    public static ModelFormatException RejectsFile(string path)
    {
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.True(clock.Elapsed < Limit, $"took {clock.Elapsed.TotalSeconds:0.###} s");
        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(path + ":", error.Message);
        return error;
    }
}
