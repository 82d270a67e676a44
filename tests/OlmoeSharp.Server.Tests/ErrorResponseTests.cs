using System.Net;
using System.Text;
using System.Text.Json;

namespace OlmoeSharp.Server.Tests;

/// <summary>
/// Bad requests over plain HTTP (the OpenAI client would not send them): each is answered in OpenAI's error shape
/// with the right status and the field at fault, and costs the server nothing — no sequence starts or is left behind.
/// </summary>
public sealed class ErrorResponseTests(DefaultServerFixture server) : IClassFixture<DefaultServerFixture>
{
    private const string Chat = "/v1/chat/completions";
    private const string Completions = "/v1/completions";
    private const string Hello = "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]";

    private async Task<(HttpStatusCode Status, JsonElement Error, HttpResponseMessage Response)> PostAsync(string path, string body, bool withKey = true)
    {
        using var http = server.Http(withKey);
        var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var error = json.GetProperty("error");
        // OpenAI's shape: all four members, param and code present even when null.
        Assert.Equal(["message", "type", "param", "code"], error.EnumerateObject().Select(p => p.Name));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        return (response.StatusCode, error, response);
    }

    [Theory]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"temperature":5}""", "temperature")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"temperature":"warm"}""", "temperature")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"n":0}""", "n")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"n":5}""", "n")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"max_tokens":0}""", "max_tokens")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":100000}""", "max_completion_tokens")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"top_p":0}""", "top_p")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"top_logprobs":3}""", "top_logprobs")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"logprobs":true,"top_logprobs":21}""", "top_logprobs")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"stop":["a","b","c","d","e"]}""", "stop")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"stop":[""]}""", "stop")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"presence_penalty":0.5}""", "presence_penalty")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function"}]}""", "tools")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"xml"}}""", "response_format.type")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema.schema")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"oneOf":[{"type":"string"}]}}}}""", "response_format.json_schema.schema")]
    [InlineData(Chat, """{"messages":[]}""", "messages")]
    [InlineData(Chat, """{"messages":[{"role":"tool","content":"x"}]}""", "messages[0].role")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":"Hi"},{"role":"user"}]}""", "messages[1].content")]
    [InlineData(Chat, """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", "messages[0].content")]
    [InlineData(Completions, """{"max_tokens":3}""", "prompt")]
    [InlineData(Completions, """{"prompt":""}""", "prompt")]
    [InlineData(Completions, """{"prompt":[1, 2, 999999]}""", "prompt")]
    [InlineData(Completions, """{"prompt":["ok", 3]}""", "prompt")]
    [InlineData(Completions, """{"prompt":"Hi","logprobs":25}""", "logprobs")]
    [InlineData(Completions, """{"prompt":"Hi","echo":true}""", "echo")]
    [InlineData(Completions, """{"prompt":"Hi","best_of":3}""", "best_of")]
    [InlineData(Completions, """{"prompt":["a","b","c","d","e"]}""", "prompt")]
    public async Task A_bad_field_is_a_400_naming_it(string path, string body, string field)
    {
        var (status, error, _) = await PostAsync(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(0, await server.MetricAsync("olmoe_running_sequences"));
    }

    [Fact]
    public async Task Malformed_JSON_is_a_400()
    {
        var (status, error, _) = await PostAsync(Chat, """{"messages": [""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_json", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Another_model_is_a_404_naming_the_field()
    {
        var (status, error, _) = await PostAsync(Chat, "{\"model\":\"gpt-4o\"," + Hello + "}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_a_413()
    {
        string words = string.Concat(Enumerable.Repeat(" river", 600)); // 600 tokens; the tiny model holds 512
        var (status, error, _) = await PostAsync(Completions, $$"""{"prompt":"{{words}}","max_tokens":1}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_body_over_the_size_limit_is_a_413_before_it_is_read()
    {
        string huge = new('x', 1_100_000); // over the 1 MiB default
        var (status, error, _) = await PostAsync(Completions, $$"""{"prompt":"{{huge}}"}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_the_key_the_API_is_a_401_but_health_and_metrics_stay_open(bool wrongKey)
    {
        using var http = server.Http(withKey: false);
        if (wrongKey) http.DefaultRequestHeaders.Authorization = new("Bearer", "not-the-key");
        var response = await http.PostAsync(Chat, new StringContent("{" + Hello + "}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task After_bad_requests_a_good_one_is_answered()
    {
        await PostAsync(Chat, """{"messages":[{"role":"user","content":"Hi"}],"n":0}""");
        using var http = server.Http();
        var response = await http.PostAsync(Chat, new StringContent("{" + Hello + ",\"max_tokens\":3}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        // Sampled without a seed, the random test model may end its answer early: then it says so.
        int tokens = answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.InRange(tokens, 1, 3);
        Assert.Equal(tokens == 3 ? "length" : "stop", answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }
}
