using System.Security.Cryptography;

namespace OlmoeSharp.Hub;

/// <summary>
/// The file <c>blobs/&lt;etag&gt;.incomplete</c> a blob is downloaded into, with a running sha256 of its content. Kept
/// across interruptions so the next attempt resumes at its length; the hash of what was already there is computed on
/// opening, so the content never has to be read a second time after the last byte arrived.
/// </summary>
internal sealed class PartialBlob : IAsyncDisposable
{
    private const int ChunkSize = 1 << 20;

    private readonly FileStream _file;
    private IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    private PartialBlob(FileStream file) => _file = file;

    /// <summary>The bytes held so far.</summary>
    public long Length => _file.Length;

    /// <summary>Opens or creates the partial file and hashes what it already holds.</summary>
    public static async Task<PartialBlob> OpenAsync(string path, CancellationToken cancellationToken)
    {
        // No write buffer: the downloader writes large chunks, and every byte written counts toward a resume.
        var blob = new PartialBlob(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0, useAsync: true));
        try
        {
            var buffer = new byte[ChunkSize];
            int read;
            while ((read = await blob._file.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                blob._sha256.AppendData(buffer, 0, read);
            return blob;
        }
        catch
        {
            await blob.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Appends downloaded bytes.</summary>
    public async Task AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        _sha256.AppendData(data.Span);
    }

    /// <summary>Empties the file, for a server that ignored the range, or a partial file longer than the blob.</summary>
    public void Restart()
    {
        _file.SetLength(0);
        _sha256.Dispose();
        _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    /// <summary>The sha256 of the content so far, lower-case hex.</summary>
    public string Sha256Hex() => Convert.ToHexStringLower(_sha256.GetCurrentHash());

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync().ConfigureAwait(false);
        _sha256.Dispose();
    }
}
