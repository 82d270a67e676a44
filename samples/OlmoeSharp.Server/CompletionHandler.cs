using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OlmoeSharp.Generation;
using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary>
/// The path of a completion request, either endpoint: read and validate the body (nothing runs for a bad one),
/// wait for admission, run the sequences, and write the answer whole or as events. A client that goes away
/// (<see cref="HttpContext.RequestAborted"/>) cancels its sequences at once, queued or running.
/// </summary>
internal sealed class CompletionHandler(ModelHost host, AdmissionQueue admission, SequenceRunner runner, ServerOptions options, ILogger<CompletionHandler> logger)
{
    public Task ChatAsync(HttpContext context) => RunAsync(context, ServerJsonContext.Relaxed.ChatCompletionRequest,
        (validator, request) => validator.Chat(request),
        (model, plan) => new ChatAnswerWriter(ResponseHead.New("chatcmpl", model.Id), plan.LogProbs ? new LogprobText(model.Tokenizer) : null, plan.Sequences.Count));

    public Task CompletionAsync(HttpContext context) => RunAsync(context, ServerJsonContext.Relaxed.CompletionRequest,
        (validator, request) => validator.Completion(request),
        (model, plan) => new CompletionAnswerWriter(ResponseHead.New("cmpl", model.Id), plan.LogProbs ? new LogprobText(model.Tokenizer) : null, plan.Sequences.Count));

    private async Task RunAsync<TRequest>(HttpContext context, JsonTypeInfo<TRequest> requestType,
        Func<RequestValidator, TRequest, GenerationPlan> validate, Func<LoadedModel, GenerationPlan, IAnswerWriter> answerWriter)
        where TRequest : class
    {
        long arrived = Stopwatch.GetTimestamp();
        var aborted = context.RequestAborted;
        var model = host.Require();
        var request = await ReadAsync(context.Request, requestType, aborted);
        var plan = validate(new RequestValidator(model, options), request);
        var writer = answerWriter(model, plan);

        using var lease = await admission.EnterAsync(plan.Sequences.Count, aborted);
        var updates = runner.RunAsync(model.Generator, plan, arrived, aborted);
        if (plan.Stream) await StreamAsync(context.Response, plan, writer, updates, aborted);
        else await WriteWholeAsync(context.Response, plan, writer, updates, aborted);
    }

    private async Task StreamAsync(HttpResponse response, GenerationPlan plan, IAnswerWriter writer, IAsyncEnumerable<ChoiceUpdate> updates, CancellationToken aborted)
    {
        var events = new ServerSentEvents(response);
        await events.StartAsync(aborted);
        var usages = new GenerationUsage?[plan.Sequences.Count];
        try
        {
            await foreach (var update in updates.WithCancellation(aborted))
            {
                if (update.Update.FinishReason == FinishReason.Cancelled) continue;
                await writer.WriteChunkAsync(events, update, aborted);
                if (update.Update.Usage is { } usage) usages[update.Index] = usage;
            }
        }
        catch (Exception e) when (!aborted.IsCancellationRequested)
        {
            // The status line is sent: the failure goes out as a last event in OpenAI's error shape, without [DONE].
            logger.LogError(e, "a streamed generation failed");
            await events.WriteAsync(new ApiException(500, $"generation failed: {e.Message}").ToResponse(), ServerJsonContext.Relaxed.ErrorResponse, aborted);
            return;
        }
        if (plan.IncludeUsage) await writer.WriteUsageChunkAsync(events, UsageReport.Of(plan, usages), aborted);
        await events.WriteDoneAsync(aborted);
    }

    private static async Task WriteWholeAsync(HttpResponse response, GenerationPlan plan, IAnswerWriter writer, IAsyncEnumerable<ChoiceUpdate> updates, CancellationToken aborted)
    {
        var choices = plan.Sequences.Select(_ => new ChoiceAccumulator()).ToArray();
        await foreach (var update in updates.WithCancellation(aborted)) choices[update.Index].Add(update.Update);
        aborted.ThrowIfCancellationRequested(); // the sequences ended because the client left: nobody to answer
        await writer.WriteWholeAsync(response, choices, UsageReport.Of(plan, [.. choices.Select(c => c.Usage)]), aborted);
    }

    /// <summary>The body as <typeparamref name="T"/>: malformed JSON or a field of the wrong type is a 400 naming it; a body over the size limit, 413.</summary>
    private async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken cancellationToken) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, cancellationToken)
                ?? throw new ApiException(400, "the body must be a JSON object.");
        }
        catch (JsonException e)
        {
            string? field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            throw new ApiException(400, field is null
                ? $"the body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine})."
                : $"'{field}' has a value of the wrong type, or the JSON around it is malformed.", field, "invalid_json");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiException(413, $"the body exceeds {options.MaxRequestBodyBytes} bytes.", code: "request_too_large");
        }
    }
}
