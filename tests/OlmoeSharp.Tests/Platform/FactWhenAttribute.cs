namespace OlmoeSharp.Tests.Platform;

/// <summary>
/// A <see cref="FactAttribute"/> that runs only where a static bool property or field is true, and is reported as
/// skipped elsewhere: <c>[FactWhen(typeof(Avx512BW), nameof(Avx512BW.IsSupported), "needs AVX-512BW")]</c>.
/// </summary>
public sealed class FactWhenAttribute : FactAttribute
{
    /// <param name="type">The type that declares the condition.</param>
    /// <param name="condition">The name of a static bool property or field of <paramref name="type"/>.</param>
    /// <param name="reason">Why the test is skipped when the condition is false (default: the condition's name).</param>
    public FactWhenAttribute(Type type, string condition, string? reason = null) =>
        Skip = SkipUnless.Condition(type, condition, reason);
}
