using System.Text;
using OlmoeSharp.IO;

namespace OlmoeSharp.Hub;

/// <summary>
/// One repo's folder in the hub cache, laid out exactly like huggingface_hub's so either tool finds the other's files:
/// <c>models--org--name/blobs/&lt;etag&gt;</c> holds the content, <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> links to it,
/// <c>refs/&lt;revision&gt;</c> holds the commit a branch or tag pointed to when last downloaded, and
/// <c>.locks/models--org--name/&lt;etag&gt;.lock</c> serializes downloads of one blob across processes.
/// </summary>
internal sealed class RepoCache(string cacheDirectory, RepoId repo)
{
    /// <summary>A ref file holds one commit id (40 hex digits) and perhaps a newline.</summary>
    private const int MaxRefBytes = 1024;

    /// <summary>The repo's folder, <c>&lt;cache&gt;/models--org--name</c>.</summary>
    public string Root { get; } = Path.Combine(cacheDirectory, repo.FolderName);

    private string LocksRoot { get; } = Path.Combine(cacheDirectory, ".locks", repo.FolderName);

    /// <summary>Where the content with this etag lives.</summary>
    public string BlobPath(string etag) => Path.Combine(Root, "blobs", etag);

    /// <summary>The lock file huggingface_hub also takes before writing that blob.</summary>
    public string LockPath(string etag) => Path.Combine(LocksRoot, etag + ".lock");

    /// <summary>The folder the model is loaded from.</summary>
    public string SnapshotDirectory(string commit) => Path.Combine(Root, "snapshots", commit);

    /// <summary>A file's entry in a snapshot.</summary>
    public string SnapshotFile(string commit, string fileName) => Path.Combine(SnapshotDirectory(commit), fileName);

    /// <summary>
    /// The files present in a snapshot (links to blobs that exist, or copies), as repo-relative paths with <c>/</c>
    /// separators, that <paramref name="include"/> accepts; empty when the snapshot does not exist.
    /// </summary>
    public IReadOnlyList<string> SnapshotFiles(string commit, Func<string, bool> include)
    {
        string folder = SnapshotDirectory(commit);
        if (!Directory.Exists(folder)) return [];
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 16, IgnoreInaccessible = true, AttributesToSkip = 0 };
        return Directory.EnumerateFiles(folder, "*", options)
            .Select(path => Path.GetRelativePath(folder, path).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(relative => include(relative) && IsPresent(Path.Combine(folder, relative)))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The commit a revision resolves to without the network: itself for a commit id, else what its ref file holds.</summary>
    public string? FindCommit(string revision)
    {
        if (Revision.IsCommitHash(revision)) return revision;
        string path = RefPath(revision);
        if (!File.Exists(path)) return null;
        // The file is ours or Python's, but a hand-edited one must not steer us out of the snapshots folder, nor
        // (a FIFO, a huge file) hang or exhaust the reader: anything but a commit id counts as no ref.
        byte[] content;
        try
        {
            content = UntrustedFile.ReadAll(path, MaxRefBytes, "ref");
        }
        catch (ModelFormatException)
        {
            return null;
        }
        string commit = Encoding.UTF8.GetString(content).Trim();
        return Revision.IsCommitHash(commit) ? commit : null;
    }

    /// <summary>Records that <paramref name="revision"/> now points to <paramref name="commit"/> (nothing to record for a commit id).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (FindCommit(revision) == commit) return;
        string path = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Write then rename, so a reader never sees a half-written commit id.
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, commit);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Makes the snapshot entry <paramref name="pointer"/> a relative symlink to <paramref name="blob"/>
    /// (<c>../../blobs/&lt;etag&gt;</c>, like huggingface_hub, so the cache can be moved), or a copy where the file system
    /// or the OS refuses links (FAT drives, Windows without developer mode).
    /// </summary>
    public static void Link(string blob, string pointer)
    {
        string folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        File.Delete(pointer); // a link left dangling by a deleted blob
        try
        {
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(folder, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Copy(blob, pointer, overwrite: true);
        }
    }

    /// <summary>True when <paramref name="path"/> is a file, or a link that leads to one (File.Exists is also true for dangling links).</summary>
    public static bool IsPresent(string path) => UntrustedFile.Inspect(path).Exists;

    private string RefPath(string revision) => Path.Combine(Root, "refs", revision);
}
