using System.Text.RegularExpressions;

namespace OlmoeSharp.Hub;

/// <summary>
/// What a user names on the hub: a repo id <c>org/name</c>, optionally followed by <c>:QUANT</c>, the convention of
/// llama.cpp's <c>-hf</c> and Ollama for one GGUF file of a repo (<c>allenai/OLMoE-1B-7B-0125-Instruct-GGUF:Q4_K_M</c>).
/// </summary>
/// <param name="Repo">The repo.</param>
/// <param name="QuantTag">The quant tag after the colon as typed (matched case-insensitively), or null when none was given.</param>
internal readonly partial record struct RepoReference(RepoId Repo, string? QuantTag)
{
    private const int MaxTagLength = 64;

    /// <summary>
    /// Parses <c>org/name</c> or <c>org/name:TAG</c>. False, with <paramref name="problem"/> null, for text that is no
    /// repo reference at all (a bare name, a Windows path like <c>C:\models</c>: the part before the colon is no repo id);
    /// false with <paramref name="problem"/> saying what is wrong when a valid repo id is followed by a malformed tag.
    /// </summary>
    public static bool TryParse(string text, out RepoReference reference, out string? problem)
    {
        reference = default;
        problem = null;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (!RepoId.TryParse(colon < 0 ? text : text[..colon], out var repo)) return false;
        if (colon < 0)
        {
            reference = new RepoReference(repo, null);
            return true;
        }
        string tag = text[(colon + 1)..];
        if (!Tag().IsMatch(tag))
        {
            problem = $"'{tag}' after the colon is not a quant tag such as Q4_K_M (letters, digits, '_' and '-', at most {MaxTagLength}).";
            return false;
        }
        reference = new RepoReference(repo, tag);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => QuantTag is null ? Repo.ToString() : $"{Repo}:{QuantTag}";

    // Q4_K_M, IQ4_XS, BF16, and unsloth's UD-Q4_K_XL: the tag is matched against file names, never used as a path.
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Tag();
}
