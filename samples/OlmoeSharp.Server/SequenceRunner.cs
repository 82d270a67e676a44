using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Server;

/// <summary>
/// Runs a request's sequences at once through the shared <see cref="TextGenerator"/> (whatever batching it does
/// underneath, the server gets) and merges their updates into one stream, recording tokens, time to first token
/// and how each sequence ended. When the reader stops early — the client went away, or writing failed — every
/// sequence of the request is cancelled, and the enumeration ends only after they all have, so the admission lease
/// held around it is released exactly when nothing runs any more.
/// </summary>
internal sealed class SequenceRunner(ServerMetrics metrics)
{
    public async IAsyncEnumerable<ChoiceUpdate> RunAsync(TextGenerator generator, GenerationPlan plan, long arrivedTimestamp,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        metrics.PromptProcessed(plan.PromptTokens);
        var channel = Channel.CreateUnbounded<ChoiceUpdate>(new UnboundedChannelOptions { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var all = Task.WhenAll(plan.Sequences.Select(s => PumpAsync(generator, s, arrivedTimestamp, channel.Writer, stop)));
        _ = all.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.GetBaseException()), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await foreach (var update in channel.Reader.ReadAllAsync(CancellationToken.None))
                yield return update;
        }
        finally
        {
            await stop.CancelAsync();
            await all.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Runs one sequence into <paramref name="output"/>; if it fails, the request's other sequences are stopped too (the request has failed).</summary>
    private async Task PumpAsync(TextGenerator generator, SequencePlan sequence, long arrivedTimestamp, ChannelWriter<ChoiceUpdate> output, CancellationTokenSource stop)
    {
        bool first = true;
        try
        {
            await foreach (var update in generator.GenerateAsync(sequence.PromptTokens, sequence.Options, stop.Token))
            {
                if (update.TokenId is not null)
                {
                    if (first) metrics.FirstToken(Stopwatch.GetElapsedTime(arrivedTimestamp));
                    first = false;
                    metrics.TokenGenerated();
                }
                if (update.FinishReason is { } reason) metrics.SequenceFinished(reason);
                output.TryWrite(new ChoiceUpdate(sequence.Index, update)); // unbounded: always accepted
            }
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
            throw;
        }
    }
}
