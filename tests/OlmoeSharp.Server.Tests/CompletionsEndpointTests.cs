using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Server.Tests;

/// <summary>
/// <c>/v1/completions</c>. The OpenAI .NET client has no public client for this legacy endpoint (its
/// LegacyCompletionClient is internal), so these requests go through the client's own pipeline
/// (<see cref="ClientPipeline"/>: its key, transport and error handling) with the body as JSON. Expected text comes
/// from <see cref="TextGenerator"/> on the same model.
/// </summary>
public sealed class CompletionsEndpointTests(DefaultServerFixture server) : IClassFixture<DefaultServerFixture>
{
    private async Task<PipelineResponse> SendAsync(JsonObject body, CancellationToken cancellationToken = default)
    {
        var pipeline = server.Client().GetChatClient(TinyModel.Id).Pipeline;
        using var message = pipeline.CreateMessage();
        message.Request.Method = "POST";
        message.Request.Uri = new Uri(server.BaseAddress, "/v1/completions");
        message.Request.Headers.Set("Content-Type", "application/json");
        message.Request.Content = BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));
        message.BufferResponse = body["stream"]?.GetValue<bool>() != true;
        message.Apply(new RequestOptions { CancellationToken = cancellationToken });
        await pipeline.SendAsync(message);
        var response = message.ExtractResponse()!;
        if (response.IsError) throw new ClientResultException(response);
        return response;
    }

    private async Task<string> LibraryAsync(string prompt, GenerationOptions options)
    {
        var text = new StringBuilder();
        await foreach (var update in new TextGenerator(server.Model).GenerateAsync(prompt, options)) text.Append(update.Text);
        return text.ToString();
    }

    [Fact]
    public async Task Each_prompt_of_an_array_gets_its_choices_in_OpenAI_s_order()
    {
        string[] prompts = ["The old lighthouse", "A recipe for bread"];
        var body = new JsonObject { ["model"] = TinyModel.Id, ["prompt"] = new JsonArray("The old lighthouse", "A recipe for bread"), ["max_tokens"] = 6, ["temperature"] = 0, ["n"] = 2 };
        using var response = await SendAsync(body);
        var answer = JsonDocument.Parse(response.Content.ToString()).RootElement;

        Assert.Equal("text_completion", answer.GetProperty("object").GetString());
        var choices = answer.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c.GetProperty("index").GetInt32()));
        for (int i = 0; i < 4; i++)
        {
            // Choice index = prompt × n + choice; greedy, so both choices of a prompt agree with the library.
            Assert.Equal(await LibraryAsync(prompts[i / 2], new GenerationOptions { Temperature = 0, MaxNewTokens = 6 }), choices[i].GetProperty("text").GetString());
            Assert.Equal("length", choices[i].GetProperty("finish_reason").GetString());
        }
        var usage = answer.GetProperty("usage");
        int promptTokens = prompts.Sum(p => server.Model.Tokenizer!.Encode(p).Count);
        Assert.Equal(promptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(4 * 6, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(promptTokens + 24, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Token_id_prompts_and_logprobs_are_read_and_reported()
    {
        var ids = server.Model.Tokenizer!.Encode("Numbers: one, two,");
        var body = new JsonObject { ["prompt"] = new JsonArray([.. ids.Select(i => JsonValue.Create(i))]), ["max_tokens"] = 5, ["temperature"] = 0, ["logprobs"] = 2 };
        using var response = await SendAsync(body);
        var choice = JsonDocument.Parse(response.Content.ToString()).RootElement.GetProperty("choices")[0];
        var logprobs = choice.GetProperty("logprobs");

        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        Assert.Equal(5, tokens.Length);
        Assert.Equal(choice.GetProperty("text").GetString(), string.Concat(tokens));
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(o => o.GetInt32()).ToArray();
        for (int i = 1; i < 5; i++) Assert.Equal(offsets[i - 1] + tokens[i - 1].Length, offsets[i]);
        var chosen = logprobs.GetProperty("token_logprobs").EnumerateArray().Select(l => l.GetSingle()).ToArray();
        var tops = logprobs.GetProperty("top_logprobs").EnumerateArray().ToArray();
        for (int i = 0; i < 5; i++)
        {
            var top = tops[i].EnumerateObject().Select(p => p.Value.GetSingle()).ToArray();
            Assert.InRange(top.Length, 1, 2); // two alternatives may decode to the same text
            Assert.Equal(top.Max(), chosen[i]); // greedy chose the most probable
        }
    }

    [Fact]
    public async Task A_stop_given_as_one_string_ends_the_text_before_it()
    {
        string full = await LibraryAsync("The capital of France", new GenerationOptions { Temperature = 0, MaxNewTokens = 16 });
        string stop = full.Substring(full.Length / 2, 2);
        var body = new JsonObject { ["prompt"] = "The capital of France", ["max_tokens"] = 16, ["temperature"] = 0, ["stop"] = stop };
        using var response = await SendAsync(body);
        var choice = JsonDocument.Parse(response.Content.ToString()).RootElement.GetProperty("choices")[0];
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], choice.GetProperty("text").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task A_streamed_completion_is_events_ending_with_usage_and_done()
    {
        var body = new JsonObject
        {
            ["prompt"] = "Once upon a time", ["max_tokens"] = 7, ["temperature"] = 0, ["stream"] = true, ["n"] = 2,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        using var response = await SendAsync(body);
        var events = new List<string>();
        await foreach (var item in SseParser.Create(response.ContentStream!).EnumerateAsync()) events.Add(item.Data);

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        var parts = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).ToArray();
        string expected = await LibraryAsync("Once upon a time", new GenerationOptions { Temperature = 0, MaxNewTokens = 7 });
        for (int index = 0; index < 2; index++)
        {
            // The two choices' events interleave; each choice's own add up to its text and end with its finish reason.
            var own = parts.Where(p => p.GetProperty("index").GetInt32() == index).ToArray();
            Assert.Equal(expected, string.Concat(own.Select(p => p.GetProperty("text").GetString())));
            Assert.Equal("length", own[^1].GetProperty("finish_reason").GetString());
        }
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(2 * 7, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }
}
