using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;

namespace OlmoeSharp.Server.Tests;

/// <summary>One sequence may run and one wait: the smallest server where the queue fills.</summary>
public sealed class OneSlotServerFixture : ServerFixture
{
    private protected override ServerOptions Options => base.Options with { MaxSequences = 1, MaxQueue = 1 };
}

/// <summary>
/// Admission end to end: with one sequence running and one waiting, a third request is refused with 429 and
/// <c>Retry-After</c> (through the OpenAI client, and in OpenAI's error shape over plain HTTP); a waiting client that
/// goes away leaves the queue; when everything has gone the gauges are back at zero and the server answers again.
/// </summary>
public sealed class AdmissionTests(OneSlotServerFixture server) : IClassFixture<OneSlotServerFixture>
{
    private static readonly ChatMessage[] Question = [new UserChatMessage("Tell me a long story.")];

    private static readonly ChatCompletionOptions Long = new() { MaxOutputTokenCount = 480, Temperature = 1f };

    [Fact]
    public async Task A_full_queue_is_a_429_with_Retry_After_and_a_waiting_client_can_leave()
    {
        var chat = server.Client().GetChatClient(TinyModel.Id);
        using var leaveRunning = new CancellationTokenSource();
        using var leaveWaiting = new CancellationTokenSource();

        // The running one: streaming, so it is certainly admitted once its first update arrives.
        var running = chat.CompleteChatStreamingAsync(Question, Long, leaveRunning.Token).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        Assert.Equal(1, await server.MetricAsync("olmoe_running_sequences"));

        var waiting = chat.CompleteChatAsync(Question, Long, leaveWaiting.Token);
        Assert.Equal(1, await server.MetricSettlesAtAsync("olmoe_queue_depth", 1));

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync(Question, Long));
        Assert.Equal(429, refused.Status);
        Assert.Equal("1", refused.GetRawResponse()!.Headers.TryGetValue("Retry-After", out string? retryAfter) ? retryAfter : null);

        using (var http = server.Http())
        {
            var response = await http.PostAsync("/v1/chat/completions",
                new StringContent("""{"messages":[{"role":"user","content":"Hi"}],"max_tokens":2}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter!.Delta);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
            Assert.Equal("queue_full", error.GetProperty("code").GetString());
        }

        await leaveWaiting.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, await server.MetricSettlesAtAsync("olmoe_queue_depth", 0));
        Assert.Equal(1, await server.MetricAsync("olmoe_running_sequences"));

        await leaveRunning.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => { while (await running.MoveNextAsync()) { } });
        await running.DisposeAsync();
        Assert.Equal(0, await server.MetricSettlesAtAsync("olmoe_running_sequences", 0));

        ChatCompletion answer = await chat.CompleteChatAsync(Question, new ChatCompletionOptions { MaxOutputTokenCount = 3 });
        Assert.Equal(3, answer.Usage.OutputTokenCount);
        Assert.True(await server.MetricAsync("olmoe_requests_total{endpoint=\"/v1/chat/completions\",code=\"429\"}") >= 2);
    }
}

/// <summary>A server whose model loads only when the test says so.</summary>
public sealed class LoadingServerTests
{
    [Fact]
    public async Task While_the_model_loads_health_and_the_API_answer_503_and_then_200()
    {
        var release = new TaskCompletionSource();
        await using var app = OlmoeServer.Build(new ServerOptions { Model = TinyModel.Folder, Urls = "http://127.0.0.1:0" }, async (logger, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return await ModelHost.LoadAsync(new ServerOptions { Model = TinyModel.Folder }, logger, ct);
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.Single());
        using var http = new HttpClient { BaseAddress = address };

        var health = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("loading", await health.Content.ReadAsStringAsync());
        var client = new OpenAI.OpenAIClient(new ApiKeyCredential("unused"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri(address, "/v1"),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0),
        });
        var loading = await Assert.ThrowsAsync<ClientResultException>(() => client.GetChatClient(TinyModel.Id).CompleteChatAsync([new UserChatMessage("Hi")]));
        Assert.Equal(503, loading.Status);
        Assert.True(loading.GetRawResponse()!.Headers.TryGetValue("Retry-After", out _));

        release.SetResult();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); (await http.GetAsync("/health")).StatusCode != HttpStatusCode.OK;)
        {
            Assert.True(DateTime.UtcNow < deadline, "the model did not load");
            await Task.Delay(20);
        }
        ChatCompletion answer = await client.GetChatClient(TinyModel.Id).CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2 });
        Assert.Equal(2, answer.Usage.OutputTokenCount);
    }
}
