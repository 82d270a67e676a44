using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary><c>chat.completion</c> answers and <c>chat.completion.chunk</c> events; each choice's first chunk carries the assistant role.</summary>
/// <param name="head">The request's id, time and model.</param>
/// <param name="logprobs">Null when the request did not ask for log-probabilities.</param>
/// <param name="choices">How many choices the request has.</param>
internal sealed class ChatAnswerWriter(ResponseHead head, LogprobText? logprobs, int choices) : IAnswerWriter
{
    private readonly bool[] _started = new bool[choices];

    public Task WriteChunkAsync(ServerSentEvents events, ChoiceUpdate update, CancellationToken cancellationToken)
    {
        var (index, step) = update;
        bool first = !_started[index];
        if (step.Text.Length == 0 && step.LogProbabilities is null && step.FinishReason is null && !first) return Task.CompletedTask;
        _started[index] = true;
        var choice = new ChatChunkChoice
        {
            Index = index,
            Delta = new ChatMessageOut { Role = first ? "assistant" : null, Content = step.Text.Length > 0 || first ? step.Text : null },
            Logprobs = logprobs is not null && step is { TokenId: int id, LogProbabilities: { } lp } ? new ChatLogprobs { Content = [logprobs.Chat(id, lp)] } : null,
            FinishReason = step.FinishReason is { } reason ? UsageReport.FinishReasonText(reason) : null,
        };
        return events.WriteAsync(Chunk([choice]), ServerJsonContext.Relaxed.ChatCompletionChunk, cancellationToken);
    }

    public Task WriteUsageChunkAsync(ServerSentEvents events, Usage usage, CancellationToken cancellationToken) =>
        events.WriteAsync(Chunk([], usage), ServerJsonContext.Relaxed.ChatCompletionChunk, cancellationToken);

    public Task WriteWholeAsync(HttpResponse response, IReadOnlyList<ChoiceAccumulator> results, Usage usage, CancellationToken cancellationToken)
    {
        var answer = new ChatCompletionResponse
        {
            Id = head.Id,
            Created = head.Created,
            Model = head.Model,
            Choices = [.. results.Select((r, i) => new ChatChoice
            {
                Index = i,
                Message = new ChatMessageOut { Role = "assistant", Content = r.Text },
                Logprobs = logprobs is null ? null : new ChatLogprobs { Content = [.. r.Steps.Select(s => logprobs.Chat(s.Token, s.LogProbabilities))] },
                FinishReason = UsageReport.FinishReasonText(r.FinishReason!.Value),
            })],
            Usage = usage,
        };
        return response.WriteAsJsonAsync(answer, ServerJsonContext.Relaxed.ChatCompletionResponse, cancellationToken: cancellationToken);
    }

    private ChatCompletionChunk Chunk(List<ChatChunkChoice> choiceList, Usage? usage = null) =>
        new() { Id = head.Id, Created = head.Created, Model = head.Model, Choices = choiceList, Usage = usage };
}
