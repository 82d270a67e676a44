using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary><c>text_completion</c> answers, whole or as events (each event a choice's new text).</summary>
/// <param name="head">The request's id, time and model.</param>
/// <param name="logprobs">Null when the request did not ask for log-probabilities.</param>
/// <param name="choices">How many choices the request has.</param>
internal sealed class CompletionAnswerWriter(ResponseHead head, LogprobText? logprobs, int choices) : IAnswerWriter
{
    /// <summary>Per choice, where the next token's text starts (for <c>text_offset</c>).</summary>
    private readonly int[] _offsets = new int[choices];

    public Task WriteChunkAsync(ServerSentEvents events, ChoiceUpdate update, CancellationToken cancellationToken)
    {
        var (index, step) = update;
        if (step.Text.Length == 0 && step.LogProbabilities is null && step.FinishReason is null) return Task.CompletedTask;
        var choice = new CompletionChoice
        {
            Index = index,
            Text = step.Text,
            Logprobs = logprobs is not null && step is { TokenId: int id, LogProbabilities: { } lp } ? logprobs.Completion([(id, lp)], ref _offsets[index]) : null,
            FinishReason = step.FinishReason is { } reason ? UsageReport.FinishReasonText(reason) : null,
        };
        return events.WriteAsync(Answer([choice]), ServerJsonContext.Relaxed.CompletionResponse, cancellationToken: cancellationToken);
    }

    public Task WriteUsageChunkAsync(ServerSentEvents events, Usage usage, CancellationToken cancellationToken) =>
        events.WriteAsync(Answer([], usage), ServerJsonContext.Relaxed.CompletionResponse, cancellationToken: cancellationToken);

    public Task WriteWholeAsync(HttpResponse response, IReadOnlyList<ChoiceAccumulator> results, Usage usage, CancellationToken cancellationToken)
    {
        var choiceList = new List<CompletionChoice>(results.Count);
        for (int i = 0; i < results.Count; i++)
            choiceList.Add(new CompletionChoice
            {
                Index = i,
                Text = results[i].Text,
                Logprobs = logprobs?.Completion(results[i].Steps, ref _offsets[i]),
                FinishReason = UsageReport.FinishReasonText(results[i].FinishReason!.Value),
            });
        return response.WriteAsJsonAsync(Answer(choiceList, usage), ServerJsonContext.Relaxed.CompletionResponse, cancellationToken: cancellationToken);
    }

    private CompletionResponse Answer(List<CompletionChoice> choiceList, Usage? usage = null) =>
        new() { Id = head.Id, Created = head.Created, Model = head.Model, Choices = choiceList, Usage = usage };
}
