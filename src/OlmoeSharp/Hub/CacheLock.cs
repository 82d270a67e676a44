namespace OlmoeSharp.Hub;

/// <summary>
/// An exclusive lock on <c>.locks/models--org--name/&lt;etag&gt;.lock</c>, the file huggingface_hub locks before writing
/// a blob, so that this process, another one, or Python never write the same partial file at once. .NET takes
/// <see cref="FileShare.None"/> as an advisory <c>flock</c> on Unix, the very lock Python's filelock takes.
/// </summary>
internal sealed class CacheLock : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    // "Locked by someone else": EAGAIN on Linux (11) and macOS (35), sharing and lock violations on Windows.
    private static readonly int[] LockedErrors = [11, 35, unchecked((int)0x80070020), unchecked((int)0x80070021)];

    private readonly FileStream _file;

    private CacheLock(FileStream file) => _file = file;

    /// <summary>Waits until the lock is free, then takes it. Another download of the same blob can take long: only cancellation ends the wait.</summary>
    public static async Task<CacheLock> AcquireAsync(string path, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            try
            {
                return new CacheLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (LockedErrors.Contains(e.HResult))
            {
                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Releases the lock. The file stays, as with huggingface_hub: deleting it would race with the next locker.</summary>
    public void Dispose() => _file.Dispose();
}
