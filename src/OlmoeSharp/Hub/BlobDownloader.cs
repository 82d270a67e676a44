using System.Net;

namespace OlmoeSharp.Hub;

/// <summary>
/// Puts one file of a snapshot into the cache: downloads its blob into <c>blobs/&lt;etag&gt;.incomplete</c>, resuming
/// with a Range request after a cut, checks its size and (for an LFS file) its sha256, and only then renames it to
/// <c>blobs/&lt;etag&gt;</c> and links it into the snapshot. A corrupt download never enters the snapshot.
/// </summary>
internal sealed class BlobDownloader(HubHttp http, HubOptions options)
{
    private const int BufferSize = 1 << 16;
    private const long ReportIntervalMs = 100;

    /// <summary>Makes <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> present, downloading its blob unless the cache has it already.</summary>
    /// <exception cref="HubException">The download failed; a partial file is kept unless its content was wrong.</exception>
    public async Task EnsureAsync(RepoCache cache, RepoId repo, string fileName, FileMetadata metadata, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        string pointer = cache.SnapshotFile(metadata.Commit, fileName);
        if (RepoCache.IsPresent(pointer)) return;
        string blob = cache.BlobPath(metadata.Etag);
        try
        {
            using var cacheLock = await CacheLock.AcquireAsync(cache.LockPath(metadata.Etag), cancellationToken).ConfigureAwait(false);
            // Another revision, or another process while we waited for the lock, may have brought the same content.
            if (!File.Exists(blob)) await DownloadBlobAsync(repo, fileName, metadata, blob, progress, cancellationToken).ConfigureAwait(false);
            RepoCache.Link(blob, pointer);
        }
        catch (Exception e) when (StorageErrors.Translate(e, repo, fileName, options.CacheDirectory) is { } translated)
        {
            throw translated;
        }
    }

    private async Task DownloadBlobAsync(RepoId repo, string fileName, FileMetadata metadata, string blob, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        string partialPath = blob + ".incomplete";
        string? fault;
        await using (var partial = await PartialBlob.OpenAsync(partialPath, cancellationToken).ConfigureAwait(false))
        {
            // Longer than the blob: not a prefix of it, whatever wrote it.
            if (partial.Length > metadata.Size) partial.Restart();
            for (int retry = 0; partial.Length < metadata.Size; retry++)
            {
                StorageErrors.EnsureFreeSpace(Path.GetDirectoryName(blob)!, metadata.Size - partial.Length, repo, fileName);
                long before = partial.Length;
                try
                {
                    await TransferAsync(repo, fileName, metadata, partial, progress, cancellationToken).ConfigureAwait(false);
                }
                catch (HubException e) when (e.Kind == HubErrorKind.Network && partial.Length > before && retry < options.MaxRetries)
                {
                    // The connection dropped after making progress: resume at once from where it stopped.
                }
            }
            fault = Verify(partial, metadata);
        }
        if (fault is not null)
        {
            File.Delete(partialPath);
            throw new HubException(HubErrorKind.ChecksumMismatch, repo.ToString(), fileName,
                $"{fault} The download from {metadata.Location.GetLeftPart(UriPartial.Authority)} was corrupted and has been discarded; run again to retry.");
        }
        File.Move(partialPath, blob, overwrite: true);
    }

    private async Task TransferAsync(RepoId repo, string fileName, FileMetadata metadata, PartialBlob partial, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        long offset = partial.Length;
        using var response = await http.GetContentAsync(repo, metadata.Commit, fileName, metadata.Location, offset, cancellationToken).ConfigureAwait(false);
        // A server may ignore the Range header and send everything from the start.
        if (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != offset) partial.Restart();

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var buffer = new byte[BufferSize];
            long nextReport = 0L;
            while (true)
            {
                // A connection that stays open but sends nothing would otherwise hang the download forever.
                stall.CancelAfter(options.Timeout);
                int read = await ReadAsync(body, buffer, stall.Token, repo, fileName, partial, cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                await partial.AppendAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                if (Environment.TickCount64 >= nextReport)
                {
                    progress?.Report(new DownloadProgress(fileName, partial.Length, metadata.Size));
                    nextReport = Environment.TickCount64 + ReportIntervalMs;
                }
            }
        }

        // Without a Content-Length the body can end early without an error: a cut all the same.
        if (partial.Length < metadata.Size) throw Interrupted(repo, fileName, partial, metadata.Size, null);
        progress?.Report(new DownloadProgress(fileName, partial.Length, metadata.Size));
    }

    private async Task<int> ReadAsync(Stream body, byte[] buffer, CancellationToken stallToken, RepoId repo, string fileName, PartialBlob partial, CancellationToken cancellationToken)
    {
        try
        {
            return await body.ReadAsync(buffer, stallToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubException(HubErrorKind.Network, repo.ToString(), fileName,
                $"no data for {options.Timeout.TotalSeconds:0.#} s after {partial.Length} bytes (HF_HUB_DOWNLOAD_TIMEOUT); run again to resume.", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw Interrupted(repo, fileName, partial, null, e);
        }
    }

    private static HubException Interrupted(RepoId repo, string fileName, PartialBlob partial, long? size, Exception? inner) =>
        new(HubErrorKind.Network, repo.ToString(), fileName,
            $"the connection was lost after {partial.Length}{(size is null ? "" : $" of {size}")} bytes; the partial file is kept, run again to resume.", inner);

    private static string? Verify(PartialBlob partial, FileMetadata metadata)
    {
        if (partial.Length != metadata.Size) return $"size mismatch: the hub announced {metadata.Size} bytes, the download has {partial.Length}.";
        if (!metadata.EtagIsSha256) return null;
        // Only LFS files are named by their sha256; a small file's etag is a git blob id, not a hash of its bytes alone.
        string actual = partial.Sha256Hex();
        return string.Equals(actual, metadata.Etag, StringComparison.OrdinalIgnoreCase) ? null
            : $"sha256 mismatch: expected {metadata.Etag}, got {actual}.";
    }
}
