namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>
/// How long the checkpoint fuzzer runs. CI gets a fixed seed, a few thousand cases and a time budget; local runs
/// ask for more through the environment:
/// <c>OLMOE_FUZZ_ITERATIONS=100000</c> (cases; the time budget then defaults to none),
/// <c>OLMOE_FUZZ_SECONDS=600</c> (time budget), <c>OLMOE_FUZZ_SEED=7</c> (another stream of cases).
/// </summary>
internal sealed record FuzzSettings(ulong Seed, int Iterations, TimeSpan Budget)
{
    public const int CiIterations = 3000;

    public static readonly TimeSpan CiBudget = TimeSpan.FromSeconds(40);

    /// <summary>The CI defaults, overridden by whichever variables are set.</summary>
    public static FuzzSettings FromEnvironment()
    {
        int? iterations = Read("OLMOE_FUZZ_ITERATIONS", int.Parse);
        double? seconds = Read("OLMOE_FUZZ_SECONDS", s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
        ulong seed = Read("OLMOE_FUZZ_SEED", ulong.Parse) ?? 20240901;
        var budget = seconds is { } s ? TimeSpan.FromSeconds(s) : iterations is null ? CiBudget : TimeSpan.MaxValue;
        return new FuzzSettings(seed, iterations ?? CiIterations, budget);
    }

    /// <summary>Whether this is the short CI run (which also asserts it ran enough cases).</summary>
    public bool IsCiRun => Iterations == CiIterations && Budget == CiBudget;

    private static T? Read<T>(string name, Func<string, T> parse) where T : struct =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } text ? parse(text) : null;
}
