using Microsoft.Extensions.AI;
using OlmoeSharp.AI;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.AI;

public sealed class OlmoeChatClientTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private IChatClient Client => new OlmoeChatClient(new TextGenerator(fixture.Model));

    [Fact]
    public async Task A_response_carries_text_finish_reason_and_usage()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 8 };
        var response = await Client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi!")], options);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.NotNull(response.Usage);
        Assert.Equal(8, response.Usage!.OutputTokenCount);
        Assert.True(response.Usage.InputTokenCount > 3);
        Assert.False(string.IsNullOrEmpty(response.Text));
    }

    [Fact]
    public async Task Streaming_updates_concatenate_to_the_same_text_as_the_generator()
    {
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 10 };
        var text = new System.Text.StringBuilder();
        ChatResponseUpdate? last = null;
        await foreach (var update in Client.GetStreamingResponseAsync([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Hi!")], options))
        {
            text.Append(update.Text);
            last = update;
        }
        Assert.Contains(last!.Contents, c => c is UsageContent);
        Assert.NotNull(last.FinishReason);

        string prompt = new TuluChatTemplate().Render([new(TurnRole.System, "Be brief."), new(TurnRole.User, "Hi!")], true);
        var expected = new System.Text.StringBuilder();
        await foreach (var update in new TextGenerator(fixture.Model).GenerateAsync(prompt, new GenerationOptions { Temperature = 0, MaxNewTokens = 10 }))
            expected.Append(update.Text);
        Assert.Equal(expected.ToString(), text.ToString());
    }

    [Fact]
    public void Chat_options_map_onto_generation_options_and_are_left_unchanged()
    {
        var options = new ChatOptions { Temperature = 0.3f, TopP = 0.9f, TopK = 7, Seed = 11, MaxOutputTokens = 33, StopSequences = ["END"] };
        var mapped = OlmoeChatClient.ToGenerationOptions(options);
        Assert.Equal(0.3f, mapped.Temperature);
        Assert.Equal(0.9f, mapped.TopP);
        Assert.Equal(7, mapped.TopK);
        Assert.Equal(11UL, mapped.Seed);
        Assert.Equal(33, mapped.MaxNewTokens);
        Assert.Equal(["END"], mapped.StopSequences);
        Assert.Equal(0.3f, options.Temperature);
        Assert.Equal(["END"], options.StopSequences);
        Assert.Single(options.StopSequences!);
    }

    [Fact]
    public async Task Cancellation_throws_operation_cancelled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")], new ChatOptions { MaxOutputTokens = 50 }, cts.Token));
    }

    [Fact]
    public void Metadata_is_available_as_a_service()
    {
        var metadata = Client.GetService<ChatClientMetadata>();
        Assert.Equal("OlmoeSharp", metadata!.ProviderName);
    }
}
