namespace OlmoeSharp.Batching;

/// <summary>A snapshot of a model's batched generation (<see cref="OlmoeModel.BatchingStatus"/>), e.g. for metrics.</summary>
/// <param name="RunningSequences">Sequences admitted and generating.</param>
/// <param name="QueuedSequences">Sequences waiting for a place.</param>
/// <param name="RunningCacheBytes">KV cache bytes the running sequences' sessions hold.</param>
/// <param name="Steps">Batched forward steps run so far.</param>
/// <param name="StepTokens">Tokens those steps processed (prompt chunks and decoded tokens).</param>
/// <param name="StepSequences">Sequences those steps served, summed over steps (÷ <paramref name="Steps"/> = mean batch size).</param>
public sealed record BatchingStatus(int RunningSequences, int QueuedSequences, long RunningCacheBytes, long Steps, long StepTokens, long StepSequences);
