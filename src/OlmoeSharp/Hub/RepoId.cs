using System.Text.RegularExpressions;

namespace OlmoeSharp.Hub;

/// <summary>A Hugging Face model repository id, "org/name", validated so it can name a cache folder safely.</summary>
public sealed partial record RepoId(string Owner, string Name)
{
    /// <summary>"org/name".</summary>
    public override string ToString() => $"{Owner}/{Name}";

    /// <summary>The cache folder name huggingface_hub uses: models--org--name.</summary>
    public string CacheFolderName => $"models--{Owner}--{Name}";

    /// <summary>Parses "org/name"; false for anything else (a path, say).</summary>
    public static bool TryParse(string text, out RepoId id)
    {
        id = null!;
        var match = Pattern().Match(text);
        if (!match.Success || text.Contains("..", StringComparison.Ordinal) || text.Contains("--", StringComparison.Ordinal)) return false;
        id = new RepoId(match.Groups[1].Value, match.Groups[2].Value);
        return true;
    }

    [GeneratedRegex(@"^([A-Za-z0-9][A-Za-z0-9_.\-]{0,95})/([A-Za-z0-9][A-Za-z0-9_.\-]{0,95})$")]
    private static partial Regex Pattern();
}
