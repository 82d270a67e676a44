using System.ClientModel;
using System.Text;
using System.Text.Json;
using OlmoeSharp.Generation;
using OpenAI.Chat;

namespace OlmoeSharp.Server.Tests;

/// <summary>
/// <c>/v1/chat/completions</c> driven by the official OpenAI .NET client: whole and streamed answers, usage, stop
/// sequences, seeds, log-probabilities, n &gt; 1, and a client that goes away. Expected answers are computed with
/// the library on the same model (the server must answer what <see cref="TextGenerator"/> generates), never written in.
/// </summary>
public sealed class OpenAiChatTests(DefaultServerFixture server) : IClassFixture<DefaultServerFixture>
{
    private ChatClient Chat => server.Client().GetChatClient(TinyModel.Id);

    /// <summary>The server's prompt may come from a cached prefix, which sums the same numbers in another order.</summary>
    private const float Tolerance = 1e-4f;

    private static readonly ChatMessage[] Question = [new SystemChatMessage("You are terse."), new UserChatMessage("Name three rivers.")];

    /// <summary>The prompt the server should build: the model's template over the turns, encoded.</summary>
    private IReadOnlyList<int> PromptTokens() => server.Model.Tokenizer!.Encode(server.Model.ChatTemplate.Require().Render(
        [new ChatTurn(TurnRole.System, "You are terse."), new ChatTurn(TurnRole.User, "Name three rivers.")], addGenerationPrompt: true));

    /// <summary>What the library generates for the same prompt and options.</summary>
    private async Task<(string Text, List<int> Ids, List<TokenLogProbabilities?> LogProbabilities)> LibraryAsync(GenerationOptions options)
    {
        var text = new StringBuilder();
        var ids = new List<int>();
        var logProbabilities = new List<TokenLogProbabilities?>();
        await foreach (var update in new TextGenerator(server.Model).GenerateAsync(PromptTokens(), options))
        {
            text.Append(update.Text);
            if (update.TokenId is int id)
            {
                ids.Add(id);
                logProbabilities.Add(update.LogProbabilities);
            }
        }
        return (text.ToString(), ids, logProbabilities);
    }

    [Fact]
    public async Task A_whole_answer_is_what_the_library_generates_with_OpenAI_usage()
    {
        ChatCompletion answer = await Chat.CompleteChatAsync(Question, new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0.8f, Seed = 11 });
        var expected = await LibraryAsync(new GenerationOptions { MaxNewTokens = 10, Temperature = 0.8f, Seed = 11 });

        Assert.Equal(expected.Text, answer.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Length, answer.FinishReason);
        Assert.Equal(TinyModel.Id, answer.Model);
        Assert.StartsWith("chatcmpl-", answer.Id);
        Assert.Equal(PromptTokens().Count, answer.Usage.InputTokenCount);
        Assert.Equal(10, answer.Usage.OutputTokenCount);
        Assert.Equal(PromptTokens().Count + 10, answer.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task A_streamed_answer_adds_up_to_the_whole_one_and_ends_with_usage()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 1f, Seed = 5 };
        ChatCompletion whole = await Chat.CompleteChatAsync(Question, options);

        var text = new StringBuilder();
        var finishes = new List<ChatFinishReason>();
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var update in Chat.CompleteChatStreamingAsync(Question, options))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            if (update.FinishReason is { } finish) finishes.Add(finish);
            usage = update.Usage ?? usage;
        }
        Assert.Equal(whole.Content.Single().Text, text.ToString());
        Assert.True(updates > 2, $"the answer came in {updates} updates");
        Assert.Equal([ChatFinishReason.Length], finishes);
        Assert.NotNull(usage); // the client asks for stream_options.include_usage
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(12, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Content_sent_as_text_parts_is_read_as_their_concatenation()
    {
        var greedy = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 };
        ChatMessage[] parts = [new SystemChatMessage("You are terse."),
            new UserChatMessage(ChatMessageContentPart.CreateTextPart("Name three "), ChatMessageContentPart.CreateTextPart("rivers."))];
        ChatCompletion fromParts = await Chat.CompleteChatAsync(parts, greedy);
        ChatCompletion fromText = await Chat.CompleteChatAsync(Question, greedy);
        Assert.Equal(fromText.Content.Single().Text, fromParts.Content.Single().Text);
        Assert.Equal(PromptTokens().Count, fromParts.Usage.InputTokenCount);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_text_and_another_seed_another()
    {
        async Task<string> Sample(long seed) =>
            (await Chat.CompleteChatAsync(Question, new ChatCompletionOptions { MaxOutputTokenCount = 16, Temperature = 1f, Seed = seed })).Value.Content.Single().Text;
        string first = await Sample(42), again = await Sample(42), other = await Sample(43);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_answer_before_it()
    {
        var greedy = new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0 };
        string full = (await Chat.CompleteChatAsync(Question, greedy)).Value.Content.Single().Text;
        // A stop string from the middle of the greedy answer: the stopped answer is the text before its first occurrence.
        string stop = full.Substring(full.Length / 2, 3);
        var stopped = new ChatCompletionOptions { MaxOutputTokenCount = 24, Temperature = 0, StopSequences = { stop } };
        ChatCompletion answer = await Chat.CompleteChatAsync(Question, stopped);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], answer.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        Assert.True(answer.Usage.OutputTokenCount < 24);
    }

    [Fact]
    public async Task Log_probabilities_are_the_library_s_and_their_bytes_spell_the_answer()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 1f, Seed = 9, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        ChatCompletion answer = await Chat.CompleteChatAsync(Question, options);
        var expected = await LibraryAsync(new GenerationOptions { MaxNewTokens = 8, Temperature = 1f, Seed = 9, LogProbs = true, TopLogProbs = 3 });

        var tokens = answer.ContentTokenLogProbabilities;
        Assert.Equal(expected.Ids.Count, tokens.Count);
        var bytes = new List<byte>();
        for (int i = 0; i < tokens.Count; i++)
        {
            Assert.Equal(expected.LogProbabilities[i]!.LogProbability, tokens[i].LogProbability, Tolerance);
            Assert.Equal(server.Model.Tokenizer!.GetTokenBytes(expected.Ids[i]).ToArray(), tokens[i].Utf8Bytes!.Value.ToArray());
            bytes.AddRange(tokens[i].Utf8Bytes!.Value.ToArray());
            var top = tokens[i].TopLogProbabilities;
            Assert.Equal(3, top.Count);
            Assert.True(top[0].LogProbability >= top[1].LogProbability && top[1].LogProbability >= top[2].LogProbability);
            for (int j = 0; j < 3; j++) Assert.Equal(expected.LogProbabilities[i]!.Alternatives[j].LogProbability, top[j].LogProbability, Tolerance);
        }
        Assert.Equal(answer.Content.Single().Text, Encoding.UTF8.GetString([.. bytes]));
    }

    [Fact]
    public async Task Streamed_log_probabilities_come_one_per_token()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 1 };
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        await foreach (var update in Chat.CompleteChatStreamingAsync(Question, options)) streamed.AddRange(update.ContentTokenLogProbabilities);
        Assert.Equal(6, streamed.Count);
        // Greedy: each chosen token is the most probable one.
        Assert.All(streamed, t => Assert.Equal(t.TopLogProbabilities.Single().LogProbability, t.LogProbability));
    }

    [Fact]
    public async Task N_choices_differ_from_each_other_and_reproduce_with_the_seed()
    {
        async Task<JsonElement> Ask()
        {
            var options = new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 1f, Seed = 7 };
            options.Patch.Set("$.n"u8, 3); // the client has no property for n
            ClientResult<ChatCompletion> result = await Chat.CompleteChatAsync(Question, options);
            return JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement.Clone();
        }
        JsonElement first = await Ask(), second = await Ask();
        string[] Texts(JsonElement answer) => [.. answer.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()!)];

        var choices = first.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(3, Texts(first).Distinct().Count());
        Assert.Equal(Texts(first), Texts(second));
        var usage = first.GetProperty("usage");
        Assert.Equal(PromptTokens().Count, usage.GetProperty("prompt_tokens").GetInt32()); // the prompt counts once
        Assert.Equal(3 * 8, usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_stream_cancels_its_sequence_at_once()
    {
        double cancelledBefore = await server.MetricAsync("olmoe_sequences_finished_total{reason=\"cancelled\"}");
        using var leave = new CancellationTokenSource();
        // Greedy, on a prompt no other test sends: a sampled answer, or one continued from a prefix another test cached
        // (the same numbers summed in another order), may meet the end of text before the client leaves, and the
        // sequence would end as "stop", not "cancelled".
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 480, Temperature = 0f };
        int updates = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("Tell me a long story, please.")], options, leave.Token))
                if (++updates == 2) await leave.CancelAsync();
        });
        Assert.Equal(0, await server.MetricSettlesAtAsync("olmoe_running_sequences", 0));
        double cancelled = await server.MetricSettlesAtAsync("olmoe_sequences_finished_total{reason=\"cancelled\"}", cancelledBefore + 1);
        Assert.True(cancelled == cancelledBefore + 1,
            $"cancelled {cancelledBefore} -> {cancelled}; stop {await server.MetricAsync("olmoe_sequences_finished_total{reason=\"stop\"}")}, length {await server.MetricAsync("olmoe_sequences_finished_total{reason=\"length\"}")}, updates {updates}");
    }

    [Fact]
    public async Task A_client_that_goes_away_before_a_whole_answer_cancels_its_sequence()
    {
        double cancelledBefore = await server.MetricAsync("olmoe_sequences_finished_total{reason=\"cancelled\"}");
        double tokensBefore = await server.MetricAsync("olmoe_generated_tokens_total");
        using var leave = new CancellationTokenSource();
        var request = Chat.CompleteChatAsync([new UserChatMessage("Tell me another long story.")], new ChatCompletionOptions { MaxOutputTokenCount = 480, Temperature = 0f }, leave.Token);
        // Leave once the sequence is generating.
        for (var deadline = DateTime.UtcNow.AddSeconds(10); await server.MetricAsync("olmoe_generated_tokens_total") == tokensBefore && DateTime.UtcNow < deadline;)
            await Task.Delay(5);
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        Assert.Equal(0, await server.MetricSettlesAtAsync("olmoe_running_sequences", 0));
        Assert.Equal(cancelledBefore + 1, await server.MetricSettlesAtAsync("olmoe_sequences_finished_total{reason=\"cancelled\"}", cancelledBefore + 1));
    }

    [Fact]
    public async Task The_models_endpoint_lists_the_model_by_its_folder_name()
    {
        var models = await server.Client().GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal([TinyModel.Id], models.Value.Select(m => m.Id));
        var model = await server.Client().GetOpenAIModelClient().GetModelAsync(TinyModel.Id);
        Assert.Equal(TinyModel.Id, model.Value.Id);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => server.Client().GetOpenAIModelClient().GetModelAsync("gpt-4o"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_401()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() => server.Client("wrong-key").GetChatClient(TinyModel.Id).CompleteChatAsync(Question));
        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task A_json_schema_response_format_gives_a_document_of_that_schema_as_the_library_does()
    {
        const string schema = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150}},
             "required":["name","age"],"additionalProperties":false}
            """;
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 60,
            Temperature = 0.7f,
            Seed = 5,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
        };
        ChatCompletion answer = await Chat.CompleteChatAsync(Question, options);
        var expected = await LibraryAsync(new GenerationOptions
        {
            MaxNewTokens = 60, Temperature = 0.7f, Seed = 5, ResponseFormat = ResponseFormat.ForJsonSchema(schema),
        });

        string text = answer.Content.Single().Text;
        Assert.Equal(expected.Text, text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        using var document = JsonDocument.Parse(text);
        Assert.Equal(["name", "age"], document.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.InRange(document.RootElement.GetProperty("age").GetInt64(), 0, 150);
        Assert.True(document.RootElement.GetProperty("name").GetString()!.Length <= 12);
    }

    [Fact]
    public async Task A_json_object_response_format_gives_one_json_document()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 40, Seed = 9, ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };
        ChatCompletion answer = await Chat.CompleteChatAsync(Question, options);
        using var document = JsonDocument.Parse(answer.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
    }
}
