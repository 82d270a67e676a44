namespace OlmoeSharp.Tests.Platform;

/// <summary>
/// A <see cref="FactAttribute"/> for a test that needs Linux (a FIFO, /proc, /dev/full): elsewhere it is reported as
/// skipped. Set <see cref="Requires"/> to a path the test needs, such as <c>"/dev/full"</c>, to skip where it is absent.
/// </summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    private string? _requires;

    public LinuxFactAttribute() => Skip = SkipUnless.Linux(null);

    /// <summary>A file or device the test needs besides Linux itself.</summary>
    public string? Requires
    {
        get => _requires;
        set
        {
            _requires = value;
            Skip = SkipUnless.Linux(value);
        }
    }
}
