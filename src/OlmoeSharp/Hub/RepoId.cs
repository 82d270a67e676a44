using System.Text.RegularExpressions;

namespace OlmoeSharp.Hub;

/// <summary>
/// A model repo id <c>org/name</c>, validated with huggingface_hub's rules. The rules also make it safe to use in cache
/// paths: no part can be <c>.</c> or <c>..</c> or hold a separator.
/// </summary>
internal readonly partial record struct RepoId(string Owner, string Name)
{
    private const int MaxLength = 96;

    /// <summary>The cache folder name huggingface_hub uses: <c>models--org--name</c>.</summary>
    public string FolderName => $"models--{Owner}--{Name}";

    /// <summary>Parses <c>org/name</c>; false for anything else, including a bare <c>name</c>, which we read as a folder.</summary>
    public static bool TryParse(string text, out RepoId id)
    {
        id = default;
        var parts = text.Split('/');
        if (text.Length > MaxLength || parts.Length != 2 || !Part().IsMatch(parts[0]) || !Part().IsMatch(parts[1])) return false;
        // Reserved by the hub: "--" would make the cache folder name ambiguous, ".git" names the git endpoint.
        if (text.Contains("--", StringComparison.Ordinal) || text.Contains("..", StringComparison.Ordinal) || text.EndsWith(".git", StringComparison.Ordinal)) return false;
        id = new RepoId(parts[0], parts[1]);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Owner}/{Name}";

    // huggingface_hub: \b[\w\-.]+\b, i.e. word characters, '-' and '.', starting and ending with a word character.
    [GeneratedRegex(@"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
