namespace OlmoeSharp.Tests;

/// <summary>Locates the read-only shared data (golden checkpoints, tokenizer cases) beside the checkout.</summary>
internal static class SharedData
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);

    private static string FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("OLMOE_SHARED_DIR");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(System.IO.Path.Combine(candidate, "golden"))) return candidate;
        }
        throw new DirectoryNotFoundException("shared/ (golden data) not found above " + AppContext.BaseDirectory + "; set OLMOE_SHARED_DIR.");
    }
}
