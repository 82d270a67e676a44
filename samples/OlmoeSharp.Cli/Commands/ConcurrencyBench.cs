using OlmoeSharp.Generation;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>bench --concurrency 1,2,4,8,16</c>: for each number of streams, that many greedy generations through one
/// <see cref="TextGenerator"/> at once (the model batches their steps), measured by <see cref="ConcurrencyProtocol"/>:
/// aggregate and per-stream decode speed in the steady state, and a newcomer's time to first token while the others
/// decode, against its time with the machine idle; then the experts each decode step read (<see cref="ExpertsPerStep"/>)
/// and the speed-up over one stream they leave at equal bandwidth.
/// </summary>
internal static class ConcurrencyBench
{
    public static async Task<int> RunAsync(OlmoeModel model, int[] levels, int prompt, int gen, bool json)
    {
        var c = model.Config;
        var experts = new ExpertsPerStep(c.NumHiddenLayers, c.NumExperts, prompt, () => model.BatchingStatus.Steps);
        // No prefix caching between streams: each has its own prompt, and idle caches would only hold memory.
        var generator = new TextGenerator(model) { MaxIdleSessions = 0, RouterObserver = experts };
        ConcurrencyProtocol.RunStream run = async (ids, tokens, onToken, cancellationToken) =>
        {
            var options = new GenerationOptions { Temperature = 0, MaxNewTokens = tokens, IgnoreEndOfText = true };
            await foreach (var update in generator.GenerateAsync(ids, options, cancellationToken))
                if (update.TokenId is not null) onToken();
        };
        Console.WriteLine($"model {model.Directory}: {model.Threads} threads, {BenchProtocol.SimdClass()}; {model.Residency.ToString().ToLowerInvariant()} weights; {prompt}-token prompts, {gen} tokens per stream");
        var report = await ConcurrencyProtocol.RunAsync(levels, prompt, gen, c.VocabSize, c.MaxPositionEmbeddings, run, () => model.BatchingStatus.Steps);
        // What bounds the scaling: the experts each step actually read, and the speed-up over one stream that leaves
        // at equal bandwidth (a random router's expectation, 64·(1 − (7/8)^B) on OLMoE, beside it).
        double single = report.Levels.FirstOrDefault(r => r.Streams == 1)?.AggregateTokensPerSecond ?? double.NaN;
        var reads = new List<Dictionary<string, object>>();
        foreach (var level in report.Levels)
        {
            if (experts.MeanExperts(level.Streams) is not double mean) continue;
            double uniform = c.NumExperts * (1 - Math.Pow(1 - (double)c.NumExpertsPerToken / c.NumExperts, level.Streams));
            double ceiling = ExpertsPerStep.Ceiling(level.Streams, mean, model.BytesPerDecodedToken, model.BytesPerExpert, c.NumHiddenLayers, c.NumExpertsPerToken);
            double measured = level.AggregateTokensPerSecond / single;
            Console.WriteLine($"{level.Streams,3} streams: {mean:F1} experts read per layer per step (random routing: {uniform:F1}); at equal bandwidth at most {ceiling:F2}× one stream, measured {measured:F2}× ({100 * measured / ceiling:F0}% of it)");
            reads.Add(new Dictionary<string, object>
            {
                ["streams"] = level.Streams,
                ["experts_per_layer_step"] = Math.Round(mean, 2),
                ["bandwidth_ceiling_vs_one_stream"] = Math.Round(ceiling, 3),
            });
        }
        if (json)
        {
            Console.WriteLine(ConcurrencyProtocol.Json(new Dictionary<string, object>
            {
                ["engine"] = "olmoesharp",
                ["simd"] = BenchProtocol.SimdClass(),
                ["threads"] = model.Threads,
                ["weights"] = model.Residency.ToString().ToLowerInvariant(),
                ["expert_reads"] = reads,
            }, prompt, gen, report));
        }
        return 0;
    }
}
