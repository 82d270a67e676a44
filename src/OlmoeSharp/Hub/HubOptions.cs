namespace OlmoeSharp.Hub;

/// <summary>
/// Where models come from and where they are cached, with the same environment variables and defaults as Python's
/// huggingface_hub, so both find each other's downloads: HF_HOME (default ~/.cache/huggingface), HF_HUB_CACHE
/// (default $HF_HOME/hub), HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (or the file $HF_HOME/token),
/// HF_HUB_OFFLINE=1.
/// </summary>
public sealed record HubOptions
{
    /// <summary>The hub's base address.</summary>
    public Uri Endpoint { get; init; } = new("https://huggingface.co");

    /// <summary>Access token sent as a bearer token, for private or gated repositories.</summary>
    public string? Token { get; init; }

    /// <summary>The cache folder (huggingface_hub's "hub" folder, holding models--org--name folders).</summary>
    public string CacheDirectory { get; init; } = Path.Combine(DefaultHome(), "hub");

    /// <summary>Never touch the network: only what the cache holds can be loaded.</summary>
    public bool Offline { get; init; }

    /// <summary>The HTTP client to use (one is created when null). It must not follow redirects by itself.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Options read from the process environment, as huggingface_hub reads them.</summary>
    public static HubOptions FromEnvironment()
    {
        string home = Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } h ? h : DefaultHome();
        string? token = Environment.GetEnvironmentVariable("HF_TOKEN");
        string tokenFile = Path.Combine(home, "token");
        if (string.IsNullOrEmpty(token) && File.Exists(tokenFile)) token = File.ReadAllText(tokenFile).Trim();
        string offline = Environment.GetEnvironmentVariable("HF_HUB_OFFLINE") ?? "";
        return new HubOptions
        {
            Endpoint = new Uri(Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e ? e : "https://huggingface.co"),
            Token = string.IsNullOrEmpty(token) ? null : token,
            CacheDirectory = Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } c ? c : Path.Combine(home, "hub"),
            Offline = offline is "1" or "true" or "TRUE" or "True" or "yes" or "ON" or "on",
        };
    }

    private static string DefaultHome() =>
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? Path.Combine(xdg, "huggingface")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface");
}
