using System.Numerics.Tensors;
using OlmoeSharp.Cli;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>
/// <c>concurrency --concurrency 1,2,4,8,16</c>: the llama.cpp side of <c>olmoe bench --concurrency</c>. The streams run
/// through <see cref="LlamaCppBatcher"/> (llama-server's continuous batching) and are measured by the same
/// <see cref="ConcurrencyProtocol"/>, reported in the same lines and JSON keys.
/// </summary>
internal static class ConcurrencyCommand
{
    public static async Task<int> RunAsync(string gguf, int[] levels, int prompt, int gen, int threads, bool json, bool check)
    {
        // Room for the most streams plus the newcomer of the first-token test, each with its prompt, its tokens and
        // the slack `bench` gives one sequence.
        int sequences = levels.Max() + 1;
        using var batcher = new LlamaCppBatcher(gguf, threads, sequences, prompt + gen + 16);
        ConcurrencyProtocol.RunStream run = (ids, tokens, onToken, cancellationToken) => batcher.GenerateAsync(ids, tokens, _ => onToken(), cancellationToken);
        int vocab = batcher.VocabSize;
        Console.WriteLine($"llama.cpp ({LlamaCppRunner.Build} build) {gguf}: {threads} threads, {BenchProtocol.SimdClass()}; {sequences} sequences of {batcher.CellsPerSequence} KV cells; {prompt}-token prompts, {gen} tokens per stream");
        if (check && !await CheckAsync(batcher, gguf, threads, prompt, gen, levels.Max())) return 1;
        // The newcomer test's others run until cancelled at its first token, long before they fill their cells.
        var report = await ConcurrencyProtocol.RunAsync(levels, prompt, gen, vocab, batcher.TrainedContext, run, () => batcher.Steps);
        if (json)
        {
            Console.WriteLine(ConcurrencyProtocol.Json(new Dictionary<string, object>
            {
                ["engine"] = "llama.cpp (LLamaSharp 0.30.0)",
                ["build"] = LlamaCppRunner.Build,
                ["simd"] = BenchProtocol.SimdClass(),
                ["threads"] = threads,
                ["weights"] = "mapped", // the GGUF file memory-mapped, each tensor in its stored type
            }, prompt, gen, report));
        }
        return 0;
    }

    /// <summary>
    /// Stream 0's greedy ids from the batched driver alone must equal those of <see cref="LlamaCppRunner"/> (one
    /// sequence, one llama_decode per token, as `bench` runs it); then again after <paramref name="others"/> streams
    /// start and one of them is cancelled at its 2nd token: stream 0 joins the rest mid-way in the cancelled one's
    /// seq_id (the driver reuses the last freed), so its KV cells must be gone.
    /// </summary>
    private static async Task<bool> CheckAsync(LlamaCppBatcher batcher, string gguf, int threads, int prompt, int gen, int others)
    {
        int[] ids = ConcurrencyProtocol.Prompt(0, prompt, batcher.VocabSize);
        var reference = new int[gen];
        using (var runner = new LlamaCppRunner(gguf, threads, prompt + gen + 16))
        {
            var logits = runner.Evaluate(ids, 0);
            for (int i = 0; i < gen; i++)
            {
                reference[i] = TensorPrimitives.IndexOfMax(logits);
                if (i < gen - 1) logits = runner.Evaluate([reference[i]], prompt + i);
            }
        }
        var alone = await GreedyAsync(batcher, ids, gen, CancellationToken.None);
        bool same = Report($"1 stream, the batched driver's {gen} greedy ids against LlamaCppRunner's", alone, reference);

        using var cancel = new CancellationTokenSource();
        int cancelledTokens = 0;
        var cancelled = batcher.GenerateAsync(ConcurrencyProtocol.Prompt(1, prompt, batcher.VocabSize), gen, _ => { if (++cancelledTokens == 2) cancel.Cancel(); }, cancel.Token);
        var background = Enumerable.Range(2, others - 1).Select(s => GreedyAsync(batcher, ConcurrencyProtocol.Prompt(s, prompt, batcher.VocabSize), gen, CancellationToken.None)).ToArray();
        try
        {
            await cancelled;
        }
        catch (OperationCanceledException)
        {
        }
        var joined = await GreedyAsync(batcher, ids, gen, CancellationToken.None);
        await Task.WhenAll(background);
        return Report($"the same stream joining {others - 1} decoding streams in the seq_id of one cancelled at its 2nd token, against it alone", joined, alone) && same;
    }

    private static async Task<int[]> GreedyAsync(LlamaCppBatcher batcher, int[] prompt, int gen, CancellationToken cancellationToken)
    {
        var ids = new List<int>(gen);
        await batcher.GenerateAsync(prompt, gen, ids.Add, cancellationToken);
        return [.. ids];
    }

    private static bool Report(string what, int[] ids, int[] expected)
    {
        int first = Enumerable.Range(0, expected.Length).FirstOrDefault(i => ids[i] != expected[i], -1);
        Console.WriteLine(first < 0
            ? $"check: {what}: identical"
            : $"check FAILED: {what}: differ from token {first} ({ids[first]} instead of {expected[first]})");
        return first < 0;
    }
}
