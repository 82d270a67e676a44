namespace OlmoeSharp.Hub;

/// <summary>Turns failures of the disk holding the cache into <see cref="HubException"/>s that say what to do.</summary>
internal static class StorageErrors
{
    // ENOSPC on Linux and macOS (.NET reports the raw errno), ERROR_DISK_FULL and ERROR_HANDLE_DISK_FULL on Windows.
    private const int NoSpaceErrno = 28;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>True when <paramref name="error"/> says the disk is full.</summary>
    public static bool IsDiskFull(IOException error) => error.HResult is NoSpaceErrno or WindowsDiskFull or WindowsHandleDiskFull;

    /// <summary>
    /// The exception for a file-system error while caching <paramref name="fileName"/>, or null for any other error.
    /// Network errors never reach here: they are turned into <see cref="HubErrorKind.Network"/> where the body is read.
    /// </summary>
    public static HubException? Translate(Exception error, RepoId repo, string? fileName, string cacheDirectory) => error switch
    {
        HubException or ModelFormatException => null,
        IOException io when IsDiskFull(io) => new HubException(HubErrorKind.DiskFull, repo.ToString(), fileName,
            $"the disk holding the cache {cacheDirectory} is full. Free some space (or set HF_HUB_CACHE to another disk) and run again to resume.", error),
        IOException or UnauthorizedAccessException => new HubException(HubErrorKind.CacheWrite, repo.ToString(), fileName,
            $"cannot write the cache {cacheDirectory}: {error.Message}", error),
        _ => null,
    };

    /// <summary>Fails early, before a byte is sent, when the disk cannot take <paramref name="bytes"/> more.</summary>
    /// <exception cref="HubException">Not enough free space (<see cref="HubErrorKind.DiskFull"/>).</exception>
    public static void EnsureFreeSpace(string folder, long bytes, RepoId repo, string fileName)
    {
        if (AvailableBytes(folder) is { } free && free < bytes)
        {
            throw new HubException(HubErrorKind.DiskFull, repo.ToString(), fileName,
                $"needs {Gigabytes(bytes)} but only {Gigabytes(free)} are free on the disk holding {folder}. Free some space or set HF_HUB_CACHE to another disk.");
        }
    }

    // Unknown for some folders (UNC shares on Windows): then only a failing write can tell.
    private static long? AvailableBytes(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Gigabytes(long bytes) => $"{bytes / 1e9:0.###} GB";
}
