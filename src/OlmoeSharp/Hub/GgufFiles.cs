using System.Text.RegularExpressions;

namespace OlmoeSharp.Hub;

/// <summary>
/// Chooses the one GGUF file of a repo to download, by the quant tag in its name, like llama.cpp's <c>-hf org/name:TAG</c>:
/// <c>olmoe-1b-7b-0125-instruct-q4_k_m.gguf</c> carries <c>Q4_K_M</c>. A tag matches case-insensitively and as a whole
/// token of the name: preceded by the start, <c>-</c> or <c>.</c>, and followed by <c>.gguf</c>, <c>-</c> or <c>.</c>.
/// Since tags hold <c>_</c> themselves, <c>_</c> delimits nothing: <c>Q4_K</c> does not match <c>q4_k_m</c>, nor
/// <c>F16</c> <c>bf16</c>. Without a tag the default is <see cref="DefaultTag"/>, as in llama.cpp, or the repo's only model file.
/// </summary>
/// <remarks>
/// Multimodal projectors (<c>mmproj-*.gguf</c>) are never the model. A model split into parts
/// (<c>-00001-of-00003.gguf</c>, llama.cpp's <c>gguf-split</c>) cannot be loaded: asking for one is an error that says so.
/// </remarks>
internal static partial class GgufFiles
{
    /// <summary>The tag chosen when none is given, as llama.cpp and the hub's Ollama endpoint do.</summary>
    public const string DefaultTag = "Q4_K_M";

    private const string Extension = ".gguf";

    /// <summary>True for a <c>*.gguf</c> file (any case), in any folder of the repo.</summary>
    public static bool IsGguf(string path) =>
        path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) && FileName(path).Length > Extension.Length;

    /// <summary>True for a part of a split model, <c>…-00001-of-00003.gguf</c>.</summary>
    public static bool IsSplit(string path) => SplitSuffix().IsMatch(FileName(path));

    /// <summary>True when <paramref name="path"/>'s file name carries <paramref name="tag"/> as a whole token (see the class summary).</summary>
    public static bool CarriesTag(string path, string tag)
    {
        if (!IsGguf(path) || tag.Length == 0) return false;
        string stem = Stem(path);
        for (int at = stem.IndexOf(tag, StringComparison.OrdinalIgnoreCase); at >= 0; at = stem.IndexOf(tag, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            int end = at + tag.Length;
            if ((at == 0 || IsDelimiter(stem[at - 1])) && (end == stem.Length || IsDelimiter(stem[end]))) return true;
        }
        return false;
    }

    /// <summary>
    /// The tag a file offers, upper-cased: the last <c>-</c>/<c>.</c>-delimited token of its name without <c>.gguf</c>
    /// and without a split suffix (<c>OLMoE-1B-7B-0125-Instruct-Q4_K_M.gguf</c> → <c>Q4_K_M</c>). The file carries it.
    /// </summary>
    public static string TagOf(string path)
    {
        string stem = SplitSuffix().Replace(FileName(path), "");
        stem = stem.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) ? stem[..^Extension.Length] : stem;
        int delimiter = stem.LastIndexOfAny(['-', '.']);
        return stem[(delimiter + 1)..].ToUpperInvariant();
    }

    /// <summary>
    /// The model file among <paramref name="files"/> (repo-relative paths; other files are ignored) that <paramref name="tag"/>
    /// names, or without a tag the one carrying <see cref="DefaultTag"/>, else the only model file there is.
    /// </summary>
    /// <param name="files">The files of the repo, or of a cached snapshot.</param>
    /// <param name="repo">The repo, for the messages.</param>
    /// <param name="tag">The tag asked for, or null.</param>
    /// <param name="place">Where <paramref name="files"/> are, for the messages: "the repo", "the cached snapshot".</param>
    /// <exception cref="HubException">
    /// <see cref="HubErrorKind.EntryNotFound"/>: no file carries the tag, or there is no GGUF model at all;
    /// <see cref="HubErrorKind.Unsupported"/>: the file asked for is split into parts;
    /// <see cref="HubErrorKind.Ambiguous"/>: several files carry the tag, or no tag was given and several models but none
    /// with the default tag are there. Each message names the repo and the tag and lists the available tags.
    /// </exception>
    public static string Pick(IEnumerable<string> files, RepoId repo, string? tag, string place)
    {
        var models = files.Where(f => IsGguf(f) && !IsProjector(f)).Order(StringComparer.Ordinal).ToList();
        string wanted = tag ?? DefaultTag;
        var matches = models.Where(f => CarriesTag(f, wanted)).ToList();
        var whole = matches.Where(f => !IsSplit(f)).ToList();
        if (whole.Count == 1) return whole[0];

        HubException Error(HubErrorKind kind, string? fileName, string detail, string hint = "") =>
            new(kind, repo.ToString(), fileName, $"{detail} Available tags in {place}: {AvailableTags(models)}.{hint}") { QuantTag = tag };
        string nameOne = $" Name one as '{repo}:TAG'.";

        if (whole.Count > 1)
        {
            throw Error(HubErrorKind.Ambiguous, null,
                $"{whole.Count} .gguf files in {place} carry the quant tag '{wanted}': {string.Join(", ", whole)}.",
                " Download the one you want and pass its path instead.");
        }
        if (matches.Count > 0) throw SplitModel(matches, wanted);
        if (tag is not null) throw Error(HubErrorKind.EntryNotFound, null, $"no .gguf file in {place} carries the quant tag '{tag}'.", nameOne);

        // No tag and no default-tagged file: a repo of a single model needs no tag.
        var groups = models.GroupBy(SplitGroup, StringComparer.Ordinal).ToList();
        if (groups.Count == 0) throw Error(HubErrorKind.EntryNotFound, null, $"{place} holds no GGUF model file (*.gguf).");
        if (groups.Count > 1)
            throw Error(HubErrorKind.Ambiguous, null, $"{place} holds several GGUF models and none carries the default quant tag {DefaultTag}.", nameOne);
        var only = groups[0].ToList();
        if (only.Count == 1 && !IsSplit(only[0])) return only[0];
        throw SplitModel(only, TagOf(only[0]));

        HubException SplitModel(List<string> parts, string quant) =>
            Error(HubErrorKind.Unsupported, parts[0],
                $"the {quant} model is a GGUF split into parts ({parts.Count} of them in {place}), which cannot be loaded.",
                " Merge the parts into one file with llama.cpp's `llama-gguf-split --merge` and pass its path, or choose another quant tag.");
    }

    /// <summary>The tags of <paramref name="models"/>, sorted, split models marked; "none" when there is no model.</summary>
    private static string AvailableTags(List<string> models)
    {
        var tags = models.GroupBy(TagOf, StringComparer.Ordinal)
            .Select(g => g.All(IsSplit) ? $"{g.Key} (split, unsupported)" : g.Key)
            .Order(StringComparer.Ordinal)
            .ToList();
        return tags.Count == 0 ? "none" : string.Join(", ", tags);
    }

    // llama.cpp's convention for multimodal projectors, which it downloads beside the model, never as the model.
    private static bool IsProjector(string path) => FileName(path).StartsWith("mmproj", StringComparison.OrdinalIgnoreCase);

    private static bool IsDelimiter(char c) => c is '-' or '.';

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string Stem(string path) => FileName(path)[..^Extension.Length];

    /// <summary>The parts of one split model share this: the path without the part numbers.</summary>
    private static string SplitGroup(string path) => SplitSuffix().Replace(path, "");

    [GeneratedRegex(@"-\d{5}-of-\d{5}(?=\.gguf$)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex SplitSuffix();
}
