using OlmoeSharp.Generation;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>bench --concurrency 1,2,4,8,16</c>: for each number of streams, that many greedy generations through one
/// <see cref="TextGenerator"/> at once (the model batches their steps), measured by <see cref="ConcurrencyProtocol"/>:
/// aggregate and per-stream decode speed in the steady state, and a newcomer's time to first token while the
/// others decode, against its time with the machine idle.
/// </summary>
internal static class ConcurrencyBench
{
    public static async Task<int> RunAsync(OlmoeModel model, int[] levels, int prompt, int gen, bool json)
    {
        var c = model.Config;
        // No prefix caching between streams: each has its own prompt, and idle caches would only hold memory.
        var generator = new TextGenerator(model) { MaxIdleSessions = 0 };
        ConcurrencyProtocol.RunStream run = async (ids, tokens, onToken, cancellationToken) =>
        {
            var options = new GenerationOptions { Temperature = 0, MaxNewTokens = tokens, IgnoreEndOfText = true };
            await foreach (var update in generator.GenerateAsync(ids, options, cancellationToken))
                if (update.TokenId is not null) onToken();
        };
        Console.WriteLine($"model {model.Directory}: {model.Threads} threads, {BenchProtocol.SimdClass()}; {model.Residency.ToString().ToLowerInvariant()} weights; {prompt}-token prompts, {gen} tokens per stream");
        var report = await ConcurrencyProtocol.RunAsync(levels, prompt, gen, c.VocabSize, c.MaxPositionEmbeddings, run, () => model.BatchingStatus.Steps);
        if (json)
        {
            Console.WriteLine(ConcurrencyProtocol.Json(new Dictionary<string, object>
            {
                ["engine"] = "olmoesharp",
                ["simd"] = BenchProtocol.SimdClass(),
                ["threads"] = model.Threads,
                ["weights"] = model.Residency.ToString().ToLowerInvariant(),
            }, prompt, gen, report));
        }
        return 0;
    }
}
