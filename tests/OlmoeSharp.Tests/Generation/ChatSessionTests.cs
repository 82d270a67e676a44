using System.Text;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Generation;

public sealed class ChatSessionTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private static readonly GenerationOptions Greedy = new() { Temperature = 0, MaxNewTokens = 12, IgnoreEndOfText = true };

    private static async Task<(string Text, GenerationUsage Usage)> Send(ChatSession chat, string message)
    {
        var text = new StringBuilder();
        GenerationUsage? usage = null;
        await foreach (var update in chat.SendAsync(message, Greedy))
        {
            text.Append(update.Text);
            usage = update.Usage ?? usage;
        }
        return (text.ToString(), usage!);
    }

    [Fact]
    public async Task Later_turns_reuse_the_cache_and_answer_as_a_fresh_session_would()
    {
        var generator = new TextGenerator(fixture.Model);
        var template = new TuluChatTemplate();
        var chat = new ChatSession(generator, systemPrompt: "You are terse.");
        await Send(chat, "Hello!");
        var (second, usage) = await Send(chat, "And again?");

        // History: system, user, assistant, user, assistant. The second turn's prompt is the first four rendered.
        var history = chat.History;
        Assert.Equal(5, history.Count);
        Assert.Equal(second, history[4].Text);
        string secondPrompt = template.Render([.. history.Take(4)], addGenerationPrompt: true);
        int fullPrompt = fixture.Model.Tokenizer!.Encode(secondPrompt).Count;
        Assert.True(usage.PromptTokens < fullPrompt / 2, $"second turn processed {usage.PromptTokens} of {fullPrompt} prompt tokens");

        // Without a cache, the same conversation gives the same answer.
        var ids = new List<int>();
        await foreach (var update in generator.GenerateAsync(secondPrompt, Greedy))
            if (update.TokenId is int id) ids.Add(id);
        Assert.Equal(fixture.Model.Tokenizer.Decode(ids.ToArray(), skipSpecialTokens: true), second);
    }
}
