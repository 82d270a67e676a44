using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;

namespace OlmoeSharp.Server.Tests;

/// <summary>
/// A server on the tiny model, started in-process on a free loopback port (real Kestrel, real sockets) for one
/// test class, with the OpenAI .NET client pointed at it (no retries, so 429s and 503s surface as they are).
/// </summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    /// <summary>The key clients send; the server requires it.</summary>
    public const string ApiKey = "test-key";

    private protected virtual ServerOptions Options => new() { Model = TinyModel.Folder, ApiKey = ApiKey, MaxSequences = 4, MaxQueue = 8 };

    private protected WebApplication App => _app ?? throw new InvalidOperationException("not started");

    /// <summary>http://127.0.0.1:PORT</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The model the server runs, for computing what it should answer with the library directly.</summary>
    public OlmoeModel Model => App.Services.GetRequiredService<ModelHost>().Loaded!.Model;

    public async Task InitializeAsync()
    {
        _app = OlmoeServer.Build(Options with { Urls = "http://127.0.0.1:0" });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.Single());
        var host = _app.Services.GetRequiredService<ModelHost>();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); host.Loaded is null; await Task.Delay(20))
            if (host.LoadError is not null || DateTime.UtcNow > deadline) throw new InvalidOperationException("the model did not load", host.LoadError);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    public OpenAIClient Client(string key = ApiKey) => new(new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(BaseAddress, "/v1"),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        // A client that stops reading must really go away: by default .NET drains up to 1 MB of an abandoned response
        // (for 2 s) to reuse the connection, which on the tiny model is a whole answer, so the server would never see
        // the disconnect the tests are about.
        Transport = new HttpClientPipelineTransport(new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 })),
    });

    /// <summary>A plain HTTP client for what the OpenAI client cannot send: malformed bodies, missing keys, /metrics.</summary>
    public HttpClient Http(bool withKey = true)
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        if (withKey) http.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
        return http;
    }

    /// <summary>
    /// A value of <c>GET /metrics</c>: the line that starts with <paramref name="series"/> and a space, or 0 when there
    /// is none (a labelled counter appears once it counts something).
    /// </summary>
    public async Task<double> MetricAsync(string series)
    {
        using var http = Http(withKey: false);
        string text = await http.GetStringAsync("/metrics");
        string? line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits (up to 10 s) until <paramref name="series"/> reads <paramref name="expected"/>, and returns what it read last.</summary>
    public async Task<double> MetricSettlesAtAsync(string series, double expected)
    {
        double value = await MetricAsync(series);
        for (var deadline = DateTime.UtcNow.AddSeconds(10); value != expected && DateTime.UtcNow < deadline; value = await MetricAsync(series))
            await Task.Delay(20);
        return value;
    }
}

/// <summary>The usual server: key required, 4 sequences at once, 8 waiting.</summary>
public sealed class DefaultServerFixture : ServerFixture;
