using System.ClientModel;
using System.Text;
using OpenAI.Chat;

namespace OlmoeSharp.Server.Tests;

/// <summary>A server of the default shape for the load test: 4 sequences at once, 8 waiting.</summary>
public sealed class LoadServerFixture : ServerFixture;

/// <summary>
/// A bounded load on loopback: 32 concurrent clients make 96 requests (streamed and whole) with random
/// disconnects. Nothing fails but the designed 429s and the clients' own cancellations; every completed answer
/// equals the serial run of its prompt (greedy); the sequences shared the model's batched steps; afterwards nothing
/// runs or waits, and memory is back where it was.
/// </summary>
public sealed class LoadTests(LoadServerFixture server) : IClassFixture<LoadServerFixture>
{
    private const int Clients = 32, RequestsPerClient = 3, MaxTokens = 12;

    private static readonly string[] Prompts = [.. Enumerable.Range(0, 8).Select(i => $"Question {i}: what comes after {i * 7}?")];

    private static readonly ChatCompletionOptions Greedy = new() { MaxOutputTokenCount = MaxTokens, Temperature = 0 };

    [Fact]
    public async Task Concurrent_clients_with_disconnects_get_serial_answers_or_429_and_leave_nothing_behind()
    {
        var chat = server.Client().GetChatClient(TinyModel.Id);
        var serial = new Dictionary<string, string>();
        foreach (string prompt in Prompts)
            serial[prompt] = (await chat.CompleteChatAsync([new UserChatMessage(prompt)], Greedy)).Value.Content.Single().Text;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        double stepsBefore = await server.MetricAsync("olmoe_batch_steps_total");
        double servedBefore = await server.MetricAsync("olmoe_batch_step_sequences_total");

        int answered = 0, refused = 0, left = 0;
        var failures = new List<string>();
        using var timeLimit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            var random = new Random(client);
            for (int r = 0; r < RequestsPerClient; r++)
            {
                string prompt = Prompts[random.Next(Prompts.Length)];
                bool stream = random.Next(2) == 0;
                using var leave = CancellationTokenSource.CreateLinkedTokenSource(timeLimit.Token);
                if (random.Next(4) == 0) leave.CancelAfter(random.Next(1, 40)); // a quarter of the clients walk away
                try
                {
                    string text = stream ? await StreamAsync(chat, prompt, leave.Token) : (await chat.CompleteChatAsync([new UserChatMessage(prompt)], Greedy, leave.Token)).Value.Content.Single().Text;
                    if (text == serial[prompt]) Interlocked.Increment(ref answered);
                    else lock (failures) failures.Add($"'{prompt}': '{text}' instead of '{serial[prompt]}'");
                }
                catch (ClientResultException e) when (e.Status == 429)
                {
                    Interlocked.Increment(ref refused);
                    await Task.Delay(random.Next(5, 50));
                }
                catch (OperationCanceledException) when (leave.IsCancellationRequested && !timeLimit.IsCancellationRequested)
                {
                    Interlocked.Increment(ref left);
                }
                catch (Exception e)
                {
                    lock (failures) failures.Add($"'{prompt}': {e.GetType().Name}: {e.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(clients);

        Assert.Empty(failures);
        Assert.Equal(Clients * RequestsPerClient, answered + refused + left);
        Assert.True(answered > 0 && refused > 0 && left > 0, $"answered {answered}, refused {refused}, left {left}");
        Assert.Equal(0, await server.MetricSettlesAtAsync("olmoe_running_sequences", 0));
        Assert.Equal(0, await server.MetricSettlesAtAsync("olmoe_queue_depth", 0));
        // Concurrent requests shared the model's steps: more than one sequence per step on average.
        double steps = await server.MetricAsync("olmoe_batch_steps_total") - stepsBefore;
        double served = await server.MetricAsync("olmoe_batch_step_sequences_total") - servedBefore;
        Assert.True(served > 1.5 * steps, $"{served} sequence-steps in {steps} steps");

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long grown = GC.GetTotalMemory(forceFullCollection: true) - memoryBefore;
        Assert.True(grown < 64 << 20, $"the managed heap grew by {grown / (1 << 20)} MiB");
    }

    private static async Task<string> StreamAsync(ChatClient chat, string prompt, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage(prompt)], Greedy, cancellationToken))
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
        return text.ToString();
    }
}
