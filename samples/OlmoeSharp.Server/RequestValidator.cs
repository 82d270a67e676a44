using OlmoeSharp.Generation;
using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary>
/// Turns an untrusted request into a <see cref="GenerationPlan"/>, or refuses it with an <see cref="ApiException"/>
/// naming the field (400), the over-long prompt (413) or the unknown model (404) — before anything runs, so a bad
/// request costs nothing and changes nothing.
/// </summary>
internal sealed class RequestValidator(LoadedModel model, ServerOptions limits)
{
    /// <summary>Most choices (<c>n</c>) one request may ask for.</summary>
    public const int MaxChoices = 16;

    /// <summary>Most stop sequences per request (OpenAI's bound).</summary>
    public const int MaxStopSequences = 4;

    public GenerationPlan Chat(ChatCompletionRequest request)
    {
        CheckModel(request.Model);
        if (request.Tools is { ValueKind: not System.Text.Json.JsonValueKind.Null })
            throw ApiException.BadField("tools", "tools are not supported: OLMoE's chat format has no tool turns.");
        var responseFormat = ResponseFormatOf(request.ResponseFormat);
        var template = model.ChatTemplate
            ?? throw new ApiException(400, $"this model's chat template cannot be run ({model.Model.ChatTemplate.Description}); use /v1/completions.", "messages", "unsupported_chat_template");
        if (request.Messages is not { Count: > 0 } messages) throw ApiException.BadField("messages", "'messages' must hold at least one message.");

        var turns = new List<ChatTurn>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw ApiException.BadField($"messages[{i}]", $"messages[{i}] is null.");
            TurnRole role = message.Role switch
            {
                "system" or "developer" => TurnRole.System,
                "user" => TurnRole.User,
                "assistant" => TurnRole.Assistant,
                null => throw ApiException.BadField($"messages[{i}].role", $"messages[{i}] has no role."),
                _ => throw ApiException.BadField($"messages[{i}].role", $"role '{message.Role}' is not supported; use system, developer, user or assistant."),
            };
            if (message.Content is null && role != TurnRole.Assistant)
                throw ApiException.BadField($"messages[{i}].content", $"messages[{i}] has no content.");
            if (message.Content?.UnsupportedPartType is string type)
                throw ApiException.BadField($"messages[{i}].content", $"content parts of type '{type}' are not supported; this model reads text only.");
            turns.Add(new ChatTurn(role, message.Content?.Text ?? ""));
        }
        if (request.TopLogprobs is not null && request.Logprobs != true)
            throw ApiException.BadField("top_logprobs", "'top_logprobs' needs 'logprobs': true.");

        var prompt = model.Tokenizer.Encode(template.Render(turns, addGenerationPrompt: true));
        bool logProbs = request.Logprobs == true;
        return Plan(request, [prompt], "messages", request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens",
            request.MaxCompletionTokens ?? request.MaxTokens, logProbs, logProbs ? request.TopLogprobs ?? 0 : 0, "top_logprobs", responseFormat);
    }

    /// <summary>
    /// <c>response_format</c> as the library's constraint: any JSON document for <c>json_object</c>, one matching the
    /// schema for <c>json_schema</c> (compiled here, so an unsupported or unsatisfiable schema is a 400 naming where).
    /// </summary>
    private static ResponseFormat ResponseFormatOf(ResponseFormatDto? format)
    {
        switch (format?.Type)
        {
            case null or "text":
                return ResponseFormat.Text;
            case "json_object":
                return ResponseFormat.Json;
            case "json_schema":
                if (format.JsonSchema?.Schema is not { } schema)
                    throw ApiException.BadField("response_format.json_schema.schema", "a json_schema response format needs 'json_schema': {'name': …, 'schema': {…}}.");
                try
                {
                    return ResponseFormat.ForJsonSchema(schema);
                }
                catch (ResponseFormatException e)
                {
                    throw ApiException.BadField("response_format.json_schema.schema", e.Message);
                }
            default:
                throw ApiException.BadField("response_format.type", $"response_format '{format.Type}' is not supported; use text, json_object or json_schema.");
        }
    }

    public GenerationPlan Completion(CompletionRequest request)
    {
        CheckModel(request.Model);
        if (request.Echo == true) throw ApiException.BadField("echo", "echo is not supported.");
        if (request.Suffix is not null) throw ApiException.BadField("suffix", "suffix (insertion) is not supported.");
        if (request.BestOf is > 1) throw ApiException.BadField("best_of", "best_of is not supported; use n.");
        if (request.Prompt is not { Count: > 0 } prompts) throw ApiException.BadField("prompt", "'prompt' is required: a string, an array of strings or of token ids.");
        var encoded = new List<IReadOnlyList<int>>(prompts.Count);
        for (int i = 0; i < prompts.Count; i++)
        {
            string param = prompts.Count == 1 ? "prompt" : $"prompt[{i}]";
            var tokens = prompts[i].Tokens ?? model.Tokenizer.Encode(prompts[i].Text ?? "");
            foreach (int id in tokens)
                if ((uint)id >= (uint)model.Model.Config.VocabSize)
                    throw ApiException.BadField(param, $"token id {id} is outside the vocabulary [0, {model.Model.Config.VocabSize}).");
            encoded.Add(tokens);
        }
        return Plan(request, encoded, "prompt", "max_tokens", request.MaxTokens, request.Logprobs is not null, request.Logprobs ?? 0, "logprobs", ResponseFormat.Text);
    }

    private void CheckModel(string? requested)
    {
        if (requested is not null && requested != model.Id)
            throw new ApiException(404, $"the model '{requested}' does not exist; this server runs '{model.Id}'.", "model", "model_not_found");
    }

    private GenerationPlan Plan(SamplingFields request, List<IReadOnlyList<int>> prompts, string promptParam, string maxTokensParam, int? maxTokens,
        bool logProbs, int topLogProbs, string topLogProbsParam, ResponseFormat responseFormat)
    {
        int n = request.N ?? 1;
        if (n < 1 || n > MaxChoices) throw ApiException.BadField("n", $"'n' must be in [1, {MaxChoices}]; it is {n}.");
        if (prompts.Count * n > limits.MaxSequences)
            throw ApiException.BadField(prompts.Count > 1 ? "prompt" : "n",
                $"{prompts.Count} prompt(s) × n = {n} is {prompts.Count * n} sequences; this server runs at most {limits.MaxSequences} at once (--max-sequences).");
        if (topLogProbs < 0 || topLogProbs > GenerationOptions.MaxTopLogProbs)
            throw ApiException.BadField(topLogProbsParam, $"'{topLogProbsParam}' must be in [0, {GenerationOptions.MaxTopLogProbs}]; it is {topLogProbs}.");
        if (maxTokens is < 1) throw ApiException.BadField(maxTokensParam, $"'{maxTokensParam}' must be at least 1; it is {maxTokens}.");

        var options = new GenerationOptions
        {
            Temperature = Check(request.Temperature, "temperature", 1f, t => t is >= 0 and <= 2, "in [0, 2]"),
            TopP = Check(request.TopP, "top_p", 1f, p => p is > 0 and <= 1, "in (0, 1]"),
            TopK = request.TopK is { } k ? k >= 0 ? k : throw ApiException.BadField("top_k", $"'top_k' must be 0 (off) or more; it is {k}.") : 0,
            MinP = Check(request.MinP, "min_p", 0f, p => p is >= 0 and <= 1, "in [0, 1]"),
            RepetitionPenalty = Check(request.RepetitionPenalty, "repetition_penalty", 1f, p => p > 0 && float.IsFinite(p), "a finite number > 0"),
            StopSequences = Stops(request.Stop),
            LogProbs = logProbs,
            TopLogProbs = topLogProbs,
            ResponseFormat = responseFormat,
        };
        Check(request.PresencePenalty, "presence_penalty", 0f, p => p == 0, "0 (presence penalties are not implemented; use repetition_penalty)");
        Check(request.FrequencyPenalty, "frequency_penalty", 0f, p => p == 0, "0 (frequency penalties are not implemented; use repetition_penalty)");

        var sequences = new List<SequencePlan>(prompts.Count * n);
        for (int p = 0; p < prompts.Count; p++)
        {
            var prompt = prompts[p];
            string param = prompts.Count == 1 ? promptParam : $"{promptParam}[{p}]";
            if (prompt.Count == 0) throw ApiException.BadField(param, $"'{param}' is empty.");
            if (prompt.Count >= model.ContextLength)
                throw new ApiException(413, $"the prompt is {prompt.Count} tokens; this model's context holds {model.ContextLength}, and at least one must be left to generate.",
                    param, "context_length_exceeded");
            int room = model.ContextLength - prompt.Count;
            if (maxTokens > room)
                throw new ApiException(400, $"{prompt.Count} prompt tokens + {maxTokensParam} = {maxTokens} exceed the context of {model.ContextLength} tokens; ask for at most {room}.",
                    maxTokensParam, "context_length_exceeded");
            for (int c = 0; c < n; c++)
            {
                // One seed per choice, derived from the request's: reproducible, and the n choices differ.
                ulong? seed = request.Seed is long s ? unchecked((ulong)s + (ulong)c) : null;
                sequences.Add(new SequencePlan(p * n + c, prompt, options with { MaxNewTokens = maxTokens ?? room, Seed = seed }));
            }
        }
        bool stream = request.Stream == true;
        return new GenerationPlan(sequences, stream, stream && request.StreamOptions?.IncludeUsage == true, logProbs, n);
    }

    private static float Check(float? value, string param, float fallback, Func<float, bool> valid, string rule) =>
        value is not { } v ? fallback : valid(v) ? v : throw ApiException.BadField(param, $"'{param}' must be {rule}; it is {v}.");

    private static List<string> Stops(List<string>? stops)
    {
        if (stops is null) return [];
        if (stops.Count > MaxStopSequences) throw ApiException.BadField("stop", $"at most {MaxStopSequences} stop sequences; got {stops.Count}.");
        foreach (string stop in stops)
            if (string.IsNullOrEmpty(stop)) throw ApiException.BadField("stop", "stop sequences must be non-empty strings.");
        return stops;
    }
}
