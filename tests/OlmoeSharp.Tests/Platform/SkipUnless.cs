using System.Reflection;

namespace OlmoeSharp.Tests.Platform;

/// <summary>
/// The skip reasons of the platform-dependent test attributes, worked out when xunit discovers the tests: a test
/// that cannot run here is reported as skipped, with the reason, instead of returning early and counting as passed.
/// </summary>
internal static class SkipUnless
{
    /// <summary>Null on Linux (with <paramref name="requiredPath"/>, if given, present); otherwise why the test is skipped.</summary>
    public static string? Linux(string? requiredPath)
    {
        if (!OperatingSystem.IsLinux()) return "Linux only" + (requiredPath is null ? "." : $" (needs {requiredPath}).");
        if (requiredPath is not null && !File.Exists(requiredPath)) return $"{requiredPath} does not exist here.";
        return null;
    }

    /// <summary>Null when the static bool property or field <paramref name="member"/> of <paramref name="type"/> is true; otherwise why the test is skipped.</summary>
    public static string? Condition(Type type, string member, string? reason)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static;
        object? value = type.GetProperty(member, flags)?.GetValue(null) ?? type.GetField(member, flags)?.GetValue(null);
        if (value is not bool holds)
            throw new ArgumentException($"{type.FullName}.{member} is not a static bool property or field.", nameof(member));
        return holds ? null : reason ?? $"{type.Name}.{member} is false here.";
    }
}
