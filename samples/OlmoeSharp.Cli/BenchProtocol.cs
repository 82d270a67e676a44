using System.Diagnostics;

namespace OlmoeSharp.Cli;

/// <summary>
/// The measurement protocol of <c>bench</c>, shared with the llama.cpp baseline (benchmarks/OlmoeSharp.LlamaCppBaseline
/// compiles this file too) so both engines are timed the same way: the same random prompt, warm-up runs, then per
/// run a prefill of the prompt and greedy decoding one token at a time; medians; peak resident memory.
/// </summary>
internal static class BenchProtocol
{
    /// <summary>The prompt: <paramref name="tokens"/> ids drawn from a fixed seed below the tokenizer's 50,280 ids.</summary>
    public static int[] RandomPrompt(int tokens, int vocab, int seed = 1234)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, tokens).Select(_ => random.Next(0, Math.Min(vocab, 50280))).ToArray();
    }

    /// <summary>
    /// Runs <paramref name="warmup"/> unmeasured then <paramref name="runs"/> measured rounds of
    /// reset → <paramref name="prefill"/> → <paramref name="decodeOne"/>(i) for i in [0, gen); prints each run and
    /// returns the median prefill and decode speeds in tokens per second.
    /// </summary>
    public static (double Prefill, double Decode) Measure(int warmup, int runs, int prompt, int gen, Action reset, Action prefill, Action<int> decodeOne)
    {
        var prefillRates = new List<double>();
        var decodeRates = new List<double>();
        for (int run = -warmup; run < runs; run++)
        {
            reset();
            var clock = Stopwatch.StartNew();
            prefill();
            double prefillSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (int i = 0; i < gen; i++) decodeOne(i);
            double decodeSeconds = clock.Elapsed.TotalSeconds;
            if (run < 0)
            {
                Console.WriteLine($"warm-up: prefill {prompt / prefillSeconds:F2} tok/s, decode {gen / decodeSeconds:F2} tok/s (not counted)");
                continue;
            }
            prefillRates.Add(prompt / prefillSeconds);
            decodeRates.Add(gen / decodeSeconds);
            Console.WriteLine($"run {run + 1}: prefill {prompt} tokens {prompt / prefillSeconds:F2} tok/s, decode {gen} tokens {gen / decodeSeconds:F2} tok/s");
        }
        return (Median(prefillRates), Median(decodeRates));
    }

    /// <summary>
    /// The CPU class a figure belongs to, as .NET sees it in this process: "avx512", "avx2", "advsimd" (ARM64),
    /// "sse" or "scalar". DOTNET_EnableAVX512=0 turns an AVX-512 machine into "avx2".
    /// </summary>
    public static string SimdClass() =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "avx512"
        : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "avx2"
        : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "advsimd"
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "sse"
        : "scalar";

    /// <summary>VmHWM of /proc/self/status (Linux); elsewhere the process's peak working set.</summary>
    public static double PeakResidentMegabytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            foreach (string line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        }
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1e6;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
