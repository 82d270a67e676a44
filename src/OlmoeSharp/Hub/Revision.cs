using System.Text.RegularExpressions;

namespace OlmoeSharp.Hub;

/// <summary>
/// A branch, tag or commit of a repo. Revisions end up in URLs and in <c>refs/&lt;revision&gt;</c> paths of the cache,
/// so they are checked like git ref names, which also rules out any way to leave the cache folder.
/// </summary>
internal static partial class Revision
{
    /// <summary>The branch used when none is given.</summary>
    public const string Default = "main";

    private const int MaxLength = 255;

    /// <summary>True for a full git commit id, which names a snapshot folder directly without a ref.</summary>
    public static bool IsCommitHash(string revision) => CommitHash().IsMatch(revision);

    /// <summary>True when <paramref name="revision"/> is a legal git ref name such as <c>main</c>, <c>v1.0</c> or <c>refs/pr/1</c>.</summary>
    public static bool IsValid(string revision) =>
        revision.Length is > 0 and <= MaxLength
        && !revision.Contains("..", StringComparison.Ordinal)
        && !revision.Contains("//", StringComparison.Ordinal)
        && !revision.StartsWith('/') && !revision.EndsWith('/')
        && !revision.Split('/').Any(segment => segment.StartsWith('.') || segment.EndsWith(".lock", StringComparison.Ordinal))
        && !revision.Any(c => char.IsControl(c) || c is ' ' or '~' or '^' or ':' or '?' or '*' or '[' or '\\' or '<' or '>' or '"' or '|');

    [GeneratedRegex("^[0-9a-f]{40}$", RegexOptions.CultureInvariant)]
    private static partial Regex CommitHash();
}
