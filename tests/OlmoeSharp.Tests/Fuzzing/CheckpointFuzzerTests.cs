using System.Diagnostics;
using Xunit.Abstractions;

namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>The fuzzer runs alone: its time and memory bounds mean nothing with other tests loading models beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzerCollection
{
    public const string Name = "checkpoint fuzzer";
}

/// <summary>
/// Thousands of mutated checkpoints (see <see cref="CheckpointFuzzer"/>, <see cref="FuzzSettings"/> for longer runs):
/// each must load and decode, or be refused with a typed error naming a file, within bounded time and memory.
/// </summary>
[Collection(FuzzerCollection.Name)]
public sealed class CheckpointFuzzerTests(ITestOutputHelper output)
{
    /// <summary>A case is a load of a file of a few hundred KB (and maybe one token); seconds mean something spins.</summary>
    private static readonly TimeSpan CaseTimeLimit = TimeSpan.FromSeconds(5);

    /// <summary>The files are ≈ 200 KB; a case allocating more than this believed a size the file cannot back.</summary>
    private const long CaseAllocationLimit = 64L << 20;

    /// <summary>Growth of the process over the whole run: a leak of mappings or buffers shows up here.</summary>
    private const long WorkingSetGrowthLimit = 256L << 20;

    /// <summary>Findings reported in full before the run stops early.</summary>
    private const int MaxFindings = 10;

    [Fact]
    public void Mutated_checkpoints_load_or_fail_with_typed_errors_in_bounded_time_and_memory()
    {
        var settings = FuzzSettings.FromEnvironment();
        using var fuzzer = new CheckpointFuzzer(settings.Seed);
        var findings = new List<string>();
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        var slowest = (Time: TimeSpan.Zero, Case: "");
        var hungriest = (Bytes: 0L, Case: "");
        FuzzCase? current = null;
        int ran = 0;

        long workingSetBefore = SettledWorkingSet();
        var clock = Stopwatch.StartNew();
        // The cases run on a thread of their own so a case that never returns fails this test instead of hanging it.
        var worker = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < settings.Iterations && clock.Elapsed < settings.Budget && findings.Count < MaxFindings; i++)
                {
                    var fuzzCase = fuzzer.Generate(i);
                    Volatile.Write(ref current, fuzzCase);
                    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                    var started = clock.Elapsed;
                    string outcome;
                    try
                    {
                        var result = fuzzer.Run(fuzzCase);
                        outcome = result.Outcome.ToString();
                        if (result.Reason is { } reason) reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                    }
                    catch (Exception e)
                    {
                        outcome = "FINDING " + e.GetType().Name;
                        findings.Add($"{fuzzCase.Description}\n{e}");
                    }
                    var took = clock.Elapsed - started;
                    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                    if (took > slowest.Time) slowest = (took, fuzzCase.Description);
                    if (allocated > hungriest.Bytes) hungriest = (allocated, fuzzCase.Description);
                    if (took > CaseTimeLimit) findings.Add($"{fuzzCase.Description}\ntook {took.TotalSeconds:F1} s");
                    if (allocated > CaseAllocationLimit) findings.Add($"{fuzzCase.Description}\nallocated {allocated >> 20} MB");
                    outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                    ran++;
                }
            }
            catch (Exception e)
            {
                findings.Add($"the fuzzer itself failed after {ran} cases:\n{e}");
            }
        }) { IsBackground = true, Name = "checkpoint fuzzer" };
        worker.Start();
        var patience = settings.Budget == TimeSpan.MaxValue ? Timeout.InfiniteTimeSpan : settings.Budget + TimeSpan.FromMinutes(1);
        Assert.True(worker.Join(patience), $"a case never returned: {Volatile.Read(ref current)?.Description}");
        clock.Stop();
        long workingSetGrowth = SettledWorkingSet() - workingSetBefore;

        output.WriteLine($"seed {settings.Seed}: {ran} cases in {clock.Elapsed.TotalSeconds:F1} s ({ran / clock.Elapsed.TotalSeconds:F0}/s)");
        foreach (var (outcome, count) in outcomes) output.WriteLine($"  {outcome}: {count}");
        output.WriteLine($"{reasons.Count} kinds of refusal, most frequent first:");
        foreach (var (reason, count) in reasons.OrderByDescending(r => r.Value)) output.WriteLine($"  {count,6}  {reason}");
        output.WriteLine($"slowest case {slowest.Time.TotalMilliseconds:F0} ms: {slowest.Case}");
        output.WriteLine($"most allocated {hungriest.Bytes >> 10} KB: {hungriest.Case}");
        output.WriteLine($"working set growth {workingSetGrowth >> 20} MB");

        Assert.True(findings.Count == 0, $"{findings.Count} finding(s):\n\n{string.Join("\n\n", findings)}");
        Assert.True(workingSetGrowth < WorkingSetGrowthLimit, $"working set grew by {workingSetGrowth >> 20} MB over {ran} cases");
        // Every kind of outcome must have happened, or the mutations have stopped reaching some part of the loader.
        Assert.True(outcomes.GetValueOrDefault(nameof(CheckpointFuzzer.Outcome.Loaded)) > 0, "no mutated checkpoint loaded");
        Assert.True(outcomes.GetValueOrDefault(nameof(CheckpointFuzzer.Outcome.RejectedAsMalformed)) > 0, "no mutated checkpoint was refused");
        if (settings.IsCiRun) Assert.True(ran >= 1000, $"only {ran} cases ran within {settings.Budget.TotalSeconds} s");
    }

    private static long SettledWorkingSet()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Environment.WorkingSet;
    }
}
