using System.Net.Http.Headers;

namespace OlmoeSharp.Hub;

/// <summary>
/// The hub's HTTP protocol as huggingface_hub speaks it: a HEAD on <c>{endpoint}/{repo}/resolve/{revision}/{file}</c>
/// for a file's metadata, then a GET (possibly ranged) on the location it names; and for a repo's file list a GET on
/// <c>{endpoint}/api/models/{repo}/revision/{revision}</c>. Redirects are followed here rather than by HttpClient,
/// because the hub's headers sit on the redirect to the file host, and the token must stay with the hub.
/// </summary>
internal sealed class HubHttp(HttpClient client, HubOptions options)
{
    private const int MaxRedirects = 10;

    /// <summary>A file list of 100,000 files is a few megabytes; a longer answer is no file list.</summary>
    private const int MaxListingBytes = 32 << 20;

    private const int ListingChunkBytes = 1 << 16;

    private static readonly ProductInfoHeaderValue UserAgent =
        new("OlmoeSharp", typeof(HubHttp).Assembly.GetName().Version?.ToString(3) ?? "0");

    /// <summary>The metadata of <paramref name="fileName"/> at <paramref name="revision"/>.</summary>
    /// <exception cref="HubException">The hub refused, the file or repo is missing, or the network failed.</exception>
    public async Task<FileMetadata> GetMetadataAsync(RepoId repo, string revision, string fileName, CancellationToken cancellationToken)
    {
        var url = ResolveUrl(repo, revision, fileName);
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            using var response = await SendAsync(HttpMethod.Head, url, 0, repo, fileName, cancellationToken).ConfigureAwait(false);
            bool redirect = FileMetadata.IsRedirect(response);
            // Like huggingface_hub, follow only redirects within the hub (a renamed repo). A redirect to another host, or
            // one carrying X-Linked-Etag wherever it points, leads to a large file's content: its answer lacks the hub's headers.
            if (redirect && response.Headers.Location is { IsAbsoluteUri: false } relative && IsSameOrigin(new Uri(url, relative), url)
                && response.FirstHeader("X-Linked-Etag") is null)
            {
                url = new Uri(url, relative);
                continue;
            }
            if (!redirect && !response.IsSuccessStatusCode) throw HubResponseErrors.Create(response, repo, revision, fileName);
            return FileMetadata.Read(response, url, repo, fileName);
        }
        throw TooManyRedirects(repo, fileName);
    }

    /// <summary>Like <see cref="GetMetadataAsync"/>, but null when the file does not exist (for optional files).</summary>
    public async Task<FileMetadata?> TryGetMetadataAsync(RepoId repo, string revision, string fileName, CancellationToken cancellationToken)
    {
        try
        {
            return await GetMetadataAsync(repo, revision, fileName, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.EntryNotFound)
        {
            return null;
        }
    }

    /// <summary>The commit <paramref name="revision"/> points to and the files it holds (huggingface_hub's <c>model_info</c>).</summary>
    /// <exception cref="HubException">The hub refused, the repo or revision is missing, the answer is malformed, or the network failed.</exception>
    public async Task<RepoListing> GetListingAsync(RepoId repo, string revision, CancellationToken cancellationToken)
    {
        var url = ListingUrl(repo, revision);
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            using var response = await SendAsync(HttpMethod.Get, url, 0, repo, null, cancellationToken).ConfigureAwait(false);
            if (FileMetadata.IsRedirect(response))
            {
                // A renamed repo redirects within the hub; the list never lives elsewhere, and the token must not follow.
                if (response.Headers.Location is not { } next || !IsSameOrigin(new Uri(url, next), url))
                    throw new HubException(HubErrorKind.InvalidResponse, repo.ToString(), null, $"{url} redirected the file list to {response.Headers.Location?.ToString() ?? "nowhere"}, outside the hub.");
                url = new Uri(url, next);
                continue;
            }
            if (!response.IsSuccessStatusCode) throw HubResponseErrors.Create(response, repo, revision, null);
            return RepoListing.Parse(await ReadListingAsync(response, url, repo, cancellationToken).ConfigureAwait(false), repo, url);
        }
        throw TooManyRedirects(repo, null);
    }

    /// <summary>
    /// Starts the GET of a file's content at <paramref name="location"/> from byte <paramref name="offset"/> on, following
    /// redirects; the caller reads and disposes the response. The server may ignore the range and answer 200 with everything.
    /// </summary>
    /// <exception cref="HubException">The server refused or the network failed.</exception>
    public async Task<HttpResponseMessage> GetContentAsync(RepoId repo, string revision, string fileName, Uri location, long offset, CancellationToken cancellationToken)
    {
        var url = location;
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            var response = await SendAsync(HttpMethod.Get, url, offset, repo, fileName, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return response;
            using (response)
            {
                if (!FileMetadata.IsRedirect(response) || response.Headers.Location is not { } next)
                    throw HubResponseErrors.Create(response, repo, revision, fileName);
                url = new Uri(url, next);
            }
        }
        throw TooManyRedirects(repo, fileName);
    }

    private Uri ResolveUrl(RepoId repo, string revision, string fileName) =>
        // A revision like refs/pr/1 is one path segment, its slashes escaped, as huggingface_hub sends it; a file in a
        // folder keeps its slashes.
        new($"{options.Endpoint.AbsoluteUri.TrimEnd('/')}/{repo}/resolve/{Uri.EscapeDataString(revision)}/{RepoFilePath.Escape(fileName)}");

    private Uri ListingUrl(RepoId repo, string revision) =>
        new($"{options.Endpoint.AbsoluteUri.TrimEnd('/')}/api/models/{repo}/revision/{Uri.EscapeDataString(revision)}");

    // The body is read whole (it is parsed as one JSON document) but bounded, and a stall fails like one in a download.
    private async Task<byte[]> ReadListingAsync(HttpResponseMessage response, Uri url, RepoId repo, CancellationToken cancellationToken)
    {
        HubException TooLong() => new(HubErrorKind.InvalidResponse, repo.ToString(), null, $"the file list from {url} is longer than {MaxListingBytes} bytes.");

        if (response.Content.Headers.ContentLength > MaxListingBytes) throw TooLong();
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            stall.CancelAfter(options.Timeout);
            var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using var content = new MemoryStream();
                var buffer = new byte[ListingChunkBytes];
                int read;
                while ((read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false)) > 0)
                {
                    if (content.Length + read > MaxListingBytes) throw TooLong();
                    content.Write(buffer, 0, read);
                    stall.CancelAfter(options.Timeout);
                }
                return content.ToArray();
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubException(HubErrorKind.Network, repo.ToString(), null,
                $"the file list from {url.GetLeftPart(UriPartial.Authority)} stalled for {options.Timeout.TotalSeconds:0.#} s (HF_HUB_DOWNLOAD_TIMEOUT).", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new HubException(HubErrorKind.Network, repo.ToString(), null,
                $"the connection was lost while reading the file list from {url.GetLeftPart(UriPartial.Authority)}: {e.Message.TrimEnd('.')}.", e);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, long offset, RepoId repo, string? fileName, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(method, url);
        // The token is for the hub only: the file host a large file redirects to (a CDN, a bucket) must never see it.
        if (options.Token is { } token && IsSameOrigin(url, options.Endpoint)) request.Headers.Authorization = new("Bearer", token);
        // A compressed transfer would change ETag and Content-Length, and break resuming at a byte offset.
        request.Headers.AcceptEncoding.Add(new("identity"));
        request.Headers.UserAgent.Add(UserAgent);
        if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubException(HubErrorKind.Network, repo.ToString(), fileName,
                $"no answer from {url.GetLeftPart(UriPartial.Authority)} within {options.Timeout.TotalSeconds:0.#} s (HF_HUB_DOWNLOAD_TIMEOUT).", e);
        }
        catch (HttpRequestException e)
        {
            throw new HubException(HubErrorKind.Network, repo.ToString(), fileName,
                $"cannot reach {url.GetLeftPart(UriPartial.Authority)}: {e.Message.TrimEnd('.')}. Check the network, or set HF_HUB_OFFLINE=1 to use the cache only.", e);
        }
        if (response.RequestMessage?.RequestUri != url)
        {
            response.Dispose();
            throw new InvalidOperationException(
                "The HttpClient given to ModelResolver follows redirects itself, which loses the hub's headers and may carry the token to the file host. Create it with a handler whose AllowAutoRedirect is false.");
        }
        return response;
    }

    private static bool IsSameOrigin(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static HubException TooManyRedirects(RepoId repo, string? fileName) =>
        new(HubErrorKind.InvalidResponse, repo.ToString(), fileName, $"more than {MaxRedirects} redirects.");
}
