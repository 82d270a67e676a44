using System.ComponentModel;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;
using OlmoeSharp.AI;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.AI;

/// <summary>
/// Structured output and tool calls through Microsoft.Extensions.AI on the tiny random model: whatever it would say,
/// the constraint makes typed responses deserialize and tool calls name an offered tool with valid arguments.
/// </summary>
public sealed class StructuredOutputTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private IChatClient Client => new OlmoeChatClient(new TextGenerator(fixture.Model));

    public sealed record Forecast(string City, int Degrees, bool Sunny, string[] Notes);

    [Fact]
    public async Task GetResponseAsync_of_a_type_returns_an_instance_deserialized_from_the_reply()
    {
        for (int seed = 0; seed < 3; seed++)
        {
            var response = await Client.GetResponseAsync<Forecast>("What is the weather in Paris?",
                new ChatOptions { Seed = seed, Temperature = 1, MaxOutputTokens = 60 });
            Assert.True(response.TryGetResult(out var forecast), $"{response.FinishReason}: {JsonSerializer.Serialize(response.Text)}");
            Assert.NotNull(forecast!.City);
            Assert.NotNull(forecast.Notes);
            Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        }
    }

    [Fact]
    public async Task Json_response_format_replies_with_json()
    {
        var response = await Client.GetResponseAsync([new ChatMessage(ChatRole.User, "Give me JSON.")],
            new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Seed = 3, Temperature = 1, MaxOutputTokens = 40 });
        using var document = JsonDocument.Parse(response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task A_required_specific_tool_is_called_with_arguments_matching_its_schema()
    {
        var weather = AIFunctionFactory.Create((string city, int days) => $"sunny in {city}", "get_weather", "Weather forecast for a city.");
        var time = AIFunctionFactory.Create((string zone) => "12:00", "get_time", "The time in a time zone.");
        foreach (var tool in new[] { weather, time })
        {
            var validator = JsonSchema.Build(tool.JsonSchema);
            for (int seed = 0; seed < 3; seed++)
            {
                var response = await Client.GetResponseAsync([new ChatMessage(ChatRole.User, "Help me plan a trip.")],
                    new ChatOptions { Tools = [weather, time], ToolMode = ChatToolMode.RequireSpecific(tool.Name), Seed = seed, Temperature = 1, MaxOutputTokens = 40 });
                var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
                Assert.Equal(tool.Name, call.Name);
                Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
                var arguments = JsonSerializer.SerializeToElement(call.Arguments);
                Assert.True(validator.Evaluate(arguments).IsValid, arguments.GetRawText());
            }
        }
    }

    [Fact]
    public async Task A_tool_loop_through_UseFunctionInvocation_runs_the_tools_and_ends_in_a_text_answer()
    {
        var invoked = new List<string>();
        var weather = AIFunctionFactory.Create(([Description("The city")] string city) => { invoked.Add("get_weather"); return new { city, degrees = 21 }; }, "get_weather", "Weather in a city.");
        var time = AIFunctionFactory.Create((string zone) => { invoked.Add("get_time"); return "12:00"; }, "get_time", "The time in a time zone.");
        var client = new ChatClientBuilder(Client).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "What should I wear in Oslo this afternoon?")],
            new ChatOptions { Tools = [weather, time], ToolMode = ChatToolMode.RequireAny, Seed = 7, Temperature = 1, MaxOutputTokens = 40 });

        // The first reply had to be a call; the loop ran it, rendered its result back, and asked again until text came.
        Assert.NotEmpty(invoked);
        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        var results = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToList();
        Assert.Equal(invoked, calls.Select(c => c.Name));
        Assert.Equal(calls.Select(c => c.CallId), results.Select(r => r.CallId));
        Assert.All(results, r => Assert.Null(r.Exception));
        var last = response.Messages[^1];
        Assert.Equal(ChatRole.Assistant, last.Role);
        Assert.DoesNotContain(last.Contents, c => c is FunctionCallContent);
        Assert.False(string.IsNullOrWhiteSpace(last.Text));
        Assert.False(last.Text.StartsWith('{'));
    }

    [Fact]
    public void Tool_calls_and_results_are_rendered_back_into_the_conversation()
    {
        var call = new FunctionCallContent("c1", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo" });
        var turns = OlmoeChatClient.ToTurns(
        [
            new ChatMessage(ChatRole.User, "Weather?"),
            new ChatMessage(ChatRole.Assistant, [call]),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", new { degrees = 21 })]),
        ], null, "TOOLS");
        Assert.Equal([TurnRole.System, TurnRole.User, TurnRole.Assistant, TurnRole.User], turns.Select(t => t.Role));
        Assert.Equal("TOOLS", turns[0].Text);
        using var written = JsonDocument.Parse(turns[2].Text);
        Assert.Equal("get_weather", written.RootElement.GetProperty("name").GetString());
        Assert.Equal("Oslo", written.RootElement.GetProperty("arguments").GetProperty("city").GetString());
        Assert.Contains("get_weather", turns[3].Text);
        Assert.Contains("\"degrees\":21", turns[3].Text);
    }
}
