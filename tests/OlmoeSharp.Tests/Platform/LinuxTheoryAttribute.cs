namespace OlmoeSharp.Tests.Platform;

/// <summary>The <see cref="TheoryAttribute"/> counterpart of <see cref="LinuxFactAttribute"/>.</summary>
public sealed class LinuxTheoryAttribute : TheoryAttribute
{
    private string? _requires;

    public LinuxTheoryAttribute() => Skip = SkipUnless.Linux(null);

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
