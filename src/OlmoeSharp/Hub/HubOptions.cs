namespace OlmoeSharp.Hub;

/// <summary>
/// Where and how models are fetched and cached. <see cref="FromEnvironment()"/> reads the same variables as Python's
/// huggingface_hub, so both share one cache; every value can be overridden in code with a <c>with</c> expression.
/// A default instance uses huggingface_hub's defaults and ignores the environment.
/// </summary>
public sealed record HubOptions
{
    /// <summary>The public hub, used when <c>HF_ENDPOINT</c> is not set.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The hub (or mirror) to download from: <c>HF_ENDPOINT</c>.</summary>
    public Uri Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>
    /// Sent as a bearer token, and only to <see cref="Endpoint"/>'s host, never to the file host a download is redirected
    /// to: <c>HF_TOKEN</c>, else the token file <c>$HF_HOME/token</c> written by <c>huggingface-cli login</c>.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>The hub cache folder holding <c>models--org--name</c> folders: <c>HF_HUB_CACHE</c>, default <c>$HF_HOME/hub</c>.</summary>
    public string CacheDirectory { get; init; } = Path.Combine(DefaultHome(_ => null), "hub");

    /// <summary>When true the network is never touched and models come from the cache only: <c>HF_HUB_OFFLINE=1</c>.</summary>
    public bool Offline { get; init; }

    /// <summary>
    /// How long to wait for response headers, and for each chunk of a body before the connection counts as stalled:
    /// <c>HF_HUB_DOWNLOAD_TIMEOUT</c> seconds, default 10 as in huggingface_hub.
    /// </summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>
    /// How many times one file's download is resumed within a call after the connection drops. An attempt that received
    /// nothing is not retried: the server is down, and hammering it would only delay the error.
    /// </summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Reads the options from the process environment, like huggingface_hub.</summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Reads the options from <paramref name="variable"/>, which maps a variable name to its value or null.</summary>
    /// <exception cref="ArgumentException">A variable holds a value that cannot be used.</exception>
    public static HubOptions FromEnvironment(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        string home = DefaultHome(variable);
        string cache = ExpandHome(NonEmpty(variable("HF_HUB_CACHE")) ?? NonEmpty(variable("HUGGINGFACE_HUB_CACHE")))
            ?? Path.Combine(home, "hub");
        string tokenPath = ExpandHome(NonEmpty(variable("HF_TOKEN_PATH"))) ?? Path.Combine(home, "token");
        return new HubOptions
        {
            Endpoint = ParseEndpoint(NonEmpty(variable("HF_ENDPOINT"))),
            Token = CleanToken(variable("HF_TOKEN") ?? variable("HUGGING_FACE_HUB_TOKEN"))
                ?? (File.Exists(tokenPath) ? CleanToken(File.ReadAllText(tokenPath)) : null),
            CacheDirectory = cache,
            Offline = IsTrue(NonEmpty(variable("HF_HUB_OFFLINE")) ?? variable("TRANSFORMERS_OFFLINE")),
            Timeout = ParseTimeout(NonEmpty(variable("HF_HUB_DOWNLOAD_TIMEOUT"))),
        };
    }

    // HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface: huggingface_hub's constants.py.
    private static string DefaultHome(Func<string, string?> variable) =>
        ExpandHome(NonEmpty(variable("HF_HOME")))
        ?? Path.Combine(ExpandHome(NonEmpty(variable("XDG_CACHE_HOME"))) ?? Path.Combine(UserHome, ".cache"), "huggingface");

    private static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    // Python expands "~" in these paths; a shell does it for command lines but not for values set in .env files.
    private static string? ExpandHome(string? path) =>
        path is "~" ? UserHome
        : path is not null && (path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            ? Path.Combine(UserHome, path[2..])
            : path;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    // Token files written by hand often end with a newline; an empty token means "no token", as in huggingface_hub.
    private static string? CleanToken(string? value) => NonEmpty(value?.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Trim());

    private static bool IsTrue(string? value) =>
        value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static Uri ParseEndpoint(string? value)
    {
        if (value is null) return DefaultEndpoint;
        if (Uri.TryCreate(value.Trim().TrimEnd('/'), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            return uri;
        throw new ArgumentException($"HF_ENDPOINT '{value}' is not an absolute http(s) URL.");
    }

    private static TimeSpan ParseTimeout(string? value)
    {
        if (value is null) return DefaultTimeout;
        if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0)
            return TimeSpan.FromSeconds(seconds);
        throw new ArgumentException($"HF_HUB_DOWNLOAD_TIMEOUT '{value}' is not a positive number of seconds.");
    }
}
