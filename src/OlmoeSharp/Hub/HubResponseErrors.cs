namespace OlmoeSharp.Hub;

/// <summary>
/// Turns an error answer of the hub into a <see cref="HubException"/>. The hub says what is missing in the
/// <c>X-Error-Code</c> header (<c>RepoNotFound</c>, <c>RevisionNotFound</c>, <c>EntryNotFound</c>, <c>GatedRepo</c>)
/// and why in <c>X-Error-Message</c>; a plain 404 (a file host, a mirror) is read as a missing file, or, for the file
/// list of a repo, as an endpoint that is no hub.
/// </summary>
internal static class HubResponseErrors
{
    /// <summary>
    /// The exception for the failed <paramref name="response"/> to a request for <paramref name="fileName"/> at
    /// <paramref name="revision"/>, or for the repo's file list when <paramref name="fileName"/> is null.
    /// </summary>
    public static HubException Create(HttpResponseMessage response, RepoId repo, string revision, string? fileName)
    {
        int status = (int)response.StatusCode;
        string? code = response.FirstHeader("X-Error-Code");
        string hubMessage = response.FirstHeader("X-Error-Message") is { } text ? $" The hub says: {text}" : "";
        var url = response.RequestMessage?.RequestUri;
        bool tokenSent = response.RequestMessage?.Headers.Authorization is not null;

        var (kind, detail) = (status, code) switch
        {
            (401 or 403, "GatedRepo") => (HubErrorKind.Unauthorized,
                "the repo is gated: accept its conditions on its hub page, then use a token (HF_TOKEN or `huggingface-cli login`) of that account."),
            (401 or 403, _) when tokenSent => (HubErrorKind.Unauthorized,
                $"access denied (HTTP {status}): the token was rejected or has no access to this repo. Check HF_TOKEN or the token file $HF_HOME/token."),
            // The hub answers 401 for private repos and for repos that do not exist alike, so as not to reveal either.
            (401 or 403, _) => (HubErrorKind.Unauthorized,
                $"access denied (HTTP {status}): the repo does not exist, or it is private or gated and no token was sent. Check the repo id; for a private repo set HF_TOKEN or run `huggingface-cli login`."),
            (404, "RepoNotFound") => (HubErrorKind.RepoNotFound,
                $"no such repo on {url?.GetLeftPart(UriPartial.Authority)}. Check the repo id (a local folder of that name does not exist either)."),
            (404, "RevisionNotFound") => (HubErrorKind.RevisionNotFound,
                $"the repo has no branch, tag or commit '{revision}'."),
            // The hub's API names a missing repo or revision in X-Error-Code; a bare 404 comes from a server without that API.
            (404, _) when fileName is null => (HubErrorKind.InvalidResponse,
                $"{url} answered HTTP 404 without a hub error code: the endpoint has no file-list API (/api/models), so it is not a Hugging Face hub or a complete mirror of one."),
            (404, _) => (HubErrorKind.EntryNotFound,
                $"the file does not exist in revision '{revision}'."),
            _ => (HubErrorKind.InvalidResponse,
                $"unexpected answer HTTP {status} {response.ReasonPhrase} from {url}."),
        };
        return new HubException(kind, repo.ToString(), fileName, detail + hubMessage) { StatusCode = status };
    }
}
