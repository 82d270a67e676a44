namespace OlmoeSharp.Tests.Hostile;

/// <summary>Which files this process has memory-mapped, from /proc/self/maps (Linux only).</summary>
internal static class MappedFiles
{
    /// <summary>The mapping table of this process.</summary>
    public const string Table = "/proc/self/maps";

    /// <summary>Whether the mapping table can be read here.</summary>
    public static bool CanInspect => OperatingSystem.IsLinux() && File.Exists(Table);

    /// <summary>Whether any file inside <paramref name="directory"/> is mapped into this process.</summary>
    public static bool AnyUnder(string directory)
    {
        string prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return File.ReadLines(Table).Any(line => line.Contains(prefix, StringComparison.Ordinal));
    }
}
