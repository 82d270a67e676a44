using System.Text;
using Microsoft.Extensions.AI;
using OlmoeSharp.AI;

namespace OlmoeSharp.Server.Tests;

/// <summary>
/// The server through Microsoft.Extensions.AI.OpenAI's <see cref="IChatClient"/>: it answers what the library's own
/// <see cref="OlmoeChatClient"/> answers in-process for the same messages and options, streamed or not.
/// </summary>
public sealed class ExtensionsAiChatClientTests(DefaultServerFixture server) : IClassFixture<DefaultServerFixture>
{
    private IChatClient Remote => server.Client().GetChatClient(TinyModel.Id).AsIChatClient();

    private static readonly ChatMessage[] Messages = [new(ChatRole.System, "Answer briefly."), new(ChatRole.User, "What is a river delta?")];

    private static ChatOptions Options(long seed) => new() { MaxOutputTokens = 10, Temperature = 0.9f, TopP = 0.95f, Seed = seed };

    [Fact]
    public async Task A_response_over_HTTP_equals_the_in_process_client_s()
    {
        using var local = new OlmoeChatClient(new Generation.TextGenerator(server.Model));
        ChatResponse expected = await local.GetResponseAsync(Messages, Options(3));
        ChatResponse response = await Remote.GetResponseAsync(Messages, Options(3));

        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(expected.Usage!.InputTokenCount, response.Usage!.InputTokenCount);
        Assert.Equal(10, response.Usage.OutputTokenCount);
        Assert.Equal(TinyModel.Id, response.ModelId);
    }

    [Fact]
    public async Task A_streamed_response_equals_the_whole_one()
    {
        ChatResponse whole = await Remote.GetResponseAsync(Messages, Options(8));
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        UsageDetails? usage = null;
        await foreach (var update in Remote.GetStreamingResponseAsync(Messages, Options(8)))
        {
            text.Append(update.Text);
            finish = update.FinishReason ?? finish;
            usage = update.Contents.OfType<UsageContent>().SingleOrDefault()?.Details ?? usage;
        }
        Assert.Equal(whole.Text, text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal(whole.Usage!.OutputTokenCount, usage!.OutputTokenCount);
    }
}
