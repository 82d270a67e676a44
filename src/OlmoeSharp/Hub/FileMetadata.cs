using System.Text.RegularExpressions;

namespace OlmoeSharp.Hub;

/// <summary>What the hub's answer to a resolve request says about one file, read like huggingface_hub reads it.</summary>
/// <param name="Commit">The commit the revision resolved to (<c>X-Repo-Commit</c>).</param>
/// <param name="Etag">
/// The blob's name in the cache: <c>X-Linked-Etag</c> if present (large files kept in LFS: the content's sha256), else
/// <c>ETag</c> (small files kept in git: the git blob sha1, which is not a hash of the plain content), unquoted.
/// </param>
/// <param name="Size">The content's length (<c>X-Linked-Size</c>, else <c>Content-Length</c>).</param>
/// <param name="Location">Where to GET the content: the file host a large file redirects to, else the resolve URL.</param>
internal sealed partial record FileMetadata(string Commit, string Etag, long Size, Uri Location)
{
    /// <summary>True when the etag is a sha256, which the downloaded content must then hash to.</summary>
    public bool EtagIsSha256 => Sha256().IsMatch(Etag);

    /// <summary>Reads the metadata from a 2xx answer, or a redirect to another host, to the resolve request for <paramref name="url"/>.</summary>
    /// <exception cref="HubException">A header is missing or unusable (<see cref="HubErrorKind.InvalidResponse"/>).</exception>
    public static FileMetadata Read(HttpResponseMessage response, Uri url, RepoId repo, string fileName)
    {
        HubException Invalid(string detail) => new(HubErrorKind.InvalidResponse, repo.ToString(), fileName, detail) { StatusCode = (int)response.StatusCode };

        string? commit = response.FirstHeader("X-Repo-Commit");
        if (commit is null || !Revision.IsCommitHash(commit))
            throw Invalid($"{url} sent no valid X-Repo-Commit header (got '{commit}'); is {url.GetLeftPart(UriPartial.Authority)} a Hugging Face hub?");
        string? etag = NormalizeEtag(response.FirstHeader("X-Linked-Etag") ?? response.FirstHeader("ETag"));
        // The etag becomes a file name in the cache: anything but a plain token could escape the blobs folder.
        if (etag is null || !SafeEtag().IsMatch(etag)) throw Invalid($"{url} sent no usable ETag (got '{etag}').");

        string? sizeText = response.FirstHeader("X-Linked-Size");
        long? size = sizeText is null ? response.Content.Headers.ContentLength : long.TryParse(sizeText, out long linked) ? linked : null;
        if (size is not >= 0) throw Invalid($"{url} sent no file size (X-Linked-Size or Content-Length).");

        var location = IsRedirect(response) && response.Headers.Location is { } target ? new Uri(url, target) : url;
        return new FileMetadata(commit, etag, size.Value, location);
    }

    /// <summary>True for the statuses that carry a <c>Location</c> to follow.</summary>
    public static bool IsRedirect(HttpResponseMessage response) => (int)response.StatusCode is 301 or 302 or 303 or 307 or 308;

    // huggingface_hub strips a weak-validator prefix and the quotes: W/"abc" and "abc" both name blob abc.
    private static string? NormalizeEtag(string? etag)
    {
        if (etag is null) return null;
        string bare = etag.Trim();
        if (bare.StartsWith("W/", StringComparison.Ordinal)) bare = bare[2..];
        return bare.Trim('"');
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeEtag();
}
