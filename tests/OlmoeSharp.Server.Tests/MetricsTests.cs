using System.Globalization;
using OpenAI.Chat;

namespace OlmoeSharp.Server.Tests;

/// <summary><c>GET /metrics</c> as Prometheus reads it, and its counters following the requests that were made.</summary>
public sealed class MetricsTests(DefaultServerFixture server) : IClassFixture<DefaultServerFixture>
{
    [Fact]
    public async Task Counters_and_the_first_token_histogram_follow_a_request()
    {
        double tokens = await server.MetricAsync("olmoe_generated_tokens_total");
        double firstTokens = await server.MetricAsync("olmoe_time_to_first_token_seconds_count");
        double answered = await server.MetricAsync("olmoe_requests_total{endpoint=\"/v1/chat/completions\",code=\"200\"}");

        await server.Client().GetChatClient(TinyModel.Id).CompleteChatAsync([new UserChatMessage("Count to five.")], new ChatCompletionOptions { MaxOutputTokenCount = 5 });

        Assert.Equal(tokens + 5, await server.MetricAsync("olmoe_generated_tokens_total"));
        Assert.Equal(firstTokens + 1, await server.MetricAsync("olmoe_time_to_first_token_seconds_count"));
        Assert.Equal(answered + 1, await server.MetricSettlesAtAsync("olmoe_requests_total{endpoint=\"/v1/chat/completions\",code=\"200\"}", answered + 1));
        Assert.True(await server.MetricAsync("olmoe_time_to_first_token_seconds_sum") > 0);
    }

    [Fact]
    public async Task The_exposition_is_Prometheus_text_with_cumulative_buckets()
    {
        using var http = server.Http(withKey: false);
        var response = await http.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(response.Content.Headers.ContentType.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
        string[] lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Every series is announced by HELP and TYPE, and every sample is "name{labels} number".
        foreach (string name in new[] { "olmoe_queue_depth", "olmoe_running_sequences", "olmoe_generation_tokens_per_second", "olmoe_time_to_first_token_seconds", "olmoe_requests_total" })
        {
            Assert.Contains(lines, l => l.StartsWith($"# HELP {name} ", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith($"# TYPE {name} ", StringComparison.Ordinal));
        }
        foreach (string sample in lines.Where(l => !l.StartsWith('#')))
            Assert.True(double.TryParse(sample[(sample.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out _), sample);

        var buckets = lines.Where(l => l.StartsWith("olmoe_time_to_first_token_seconds_bucket", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)).ToArray();
        Assert.True(buckets.Length > 2 && buckets.Zip(buckets.Skip(1)).All(p => p.First <= p.Second), "buckets are not cumulative");
        Assert.Contains(lines, l => l.StartsWith("olmoe_time_to_first_token_seconds_bucket{le=\"+Inf\"}", StringComparison.Ordinal));
    }
}
