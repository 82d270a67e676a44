namespace OlmoeSharp.Tests.Platform;

/// <summary>The <see cref="TheoryAttribute"/> counterpart of <see cref="FactWhenAttribute"/>.</summary>
public sealed class TheoryWhenAttribute : TheoryAttribute
{
    /// <param name="type">The type that declares the condition.</param>
    /// <param name="condition">The name of a static bool property or field of <paramref name="type"/>.</param>
    /// <param name="reason">Why the test is skipped when the condition is false (default: the condition's name).</param>
    public TheoryWhenAttribute(Type type, string condition, string? reason = null) =>
        Skip = SkipUnless.Condition(type, condition, reason);
}
