using System.Security.Cryptography;
using System.Text;
using OlmoeSharp.Server.Protocol;

namespace OlmoeSharp.Server;

/// <summary>
/// The OpenAI-compatible server as an ASP.NET Core minimal API: <c>POST /v1/chat/completions</c>,
/// <c>POST /v1/completions</c>, <c>GET /v1/models</c>, <c>GET /health</c>, <c>GET /metrics</c>. Stateless per
/// request (prefix caching aside, which only saves work), so replicas can sit behind any load balancer.
/// </summary>
internal static class OlmoeServer
{
    /// <summary>Builds the server; it listens on <see cref="ServerOptions.Urls"/> once started and loads the model in the background.</summary>
    /// <param name="options">The command line's settings.</param>
    /// <param name="load">Loads the model; <see cref="ModelHost.LoadAsync"/> by default (tests pass their own).</param>
    public static WebApplication Build(ServerOptions options, Func<ILogger, CancellationToken, Task<LoadedModel>>? load = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new AdmissionQueue(options.MaxSequences, options.MaxQueue));
        builder.Services.AddSingleton(services =>
        {
            var logger = services.GetRequiredService<ILogger<ModelHost>>();
            return new ModelHost(load is null ? ct => ModelHost.LoadAsync(options, logger, ct) : ct => load(logger, ct),
                logger, services.GetRequiredService<IHostApplicationLifetime>());
        });
        builder.Services.AddHostedService(services => services.GetRequiredService<ModelHost>());
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton<SequenceRunner>();
        builder.Services.AddSingleton<CompletionHandler>();

        var app = builder.Build();
        var metrics = app.Services.GetRequiredService<ServerMetrics>();
        var host = app.Services.GetRequiredService<ModelHost>();
        var handler = app.Services.GetRequiredService<CompletionHandler>();
        var logger = app.Services.GetRequiredService<ILogger<CompletionHandler>>();

        app.Use((context, next) => AnswerErrorsAsync(context, next, metrics, logger));
        if (options.ApiKey is { } key) app.Use((context, next) => RequireApiKeyAsync(context, next, key));

        app.MapPost("/v1/chat/completions", handler.ChatAsync);
        app.MapPost("/v1/completions", handler.CompletionAsync);
        app.MapGet("/v1/models", (HttpContext context) =>
        {
            var list = new ModelList { Data = [Card(host.Require())] };
            return context.Response.WriteAsJsonAsync(list, ServerJsonContext.Relaxed.ModelList, cancellationToken: context.RequestAborted);
        });
        // Repo ids hold a slash (allenai/OLMoE-…): the id is the rest of the path.
        app.MapGet("/v1/models/{**id}", (HttpContext context, string id) =>
        {
            var model = host.Require();
            if (id != model.Id) throw new ApiException(404, $"the model '{id}' does not exist; this server runs '{model.Id}'.", "model", "model_not_found");
            return context.Response.WriteAsJsonAsync(Card(model), ServerJsonContext.Relaxed.ModelCard, cancellationToken: context.RequestAborted);
        });
        app.MapGet("/health", (HttpContext context) =>
        {
            var model = host.Loaded;
            context.Response.StatusCode = model is null ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
            var status = new HealthStatus { Status = model is null ? "loading" : "ok", Model = model?.Id };
            return context.Response.WriteAsJsonAsync(status, ServerJsonContext.Relaxed.HealthStatus, cancellationToken: context.RequestAborted);
        });
        app.MapGet("/metrics", () => Results.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }

    private static ModelCard Card(LoadedModel model) => new() { Id = model.Id, Created = model.Created, MaxModelLen = model.ContextLength };

    /// <summary>
    /// Answers an <see cref="ApiException"/> in OpenAI's error shape (with <c>Retry-After</c> where it says), any other
    /// failure as a 500 (logged), nothing to a client that went away; counts every <c>/v1</c> request by status
    /// (499, as nginx logs it, for a client that went away).
    /// </summary>
    private static async Task AnswerErrorsAsync(HttpContext context, RequestDelegate next, ServerMetrics metrics, ILogger logger)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its sequences were cancelled with it.
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, e);
        }
        catch (Batching.BatchQueueFullException e) when (!context.Response.HasStarted)
        {
            // The model's own queue (shared with any other user of the model in this process) is full: the same answer as ours.
            await WriteErrorAsync(context, new ApiException(429, e.Message, code: "queue_full") { RetryAfterSeconds = 1 });
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            logger.LogError(e, "request {Path} failed", context.Request.Path);
            await WriteErrorAsync(context, new ApiException(500, $"the server failed: {e.Message}"));
        }
        finally
        {
            if (context.Request.Path.StartsWithSegments("/v1"))
            {
                // Known routes only as labels: a client must not grow the metrics with paths of its own.
                string endpoint = context.GetEndpoint() is RouteEndpoint route ? route.RoutePattern.RawText ?? "other" : "other";
                metrics.RequestFinished(endpoint, context.RequestAborted.IsCancellationRequested ? 499 : context.Response.StatusCode);
            }
        }
    }

    private static Task WriteErrorAsync(HttpContext context, ApiException error)
    {
        context.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is int seconds) context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (error.Status == StatusCodes.Status401Unauthorized) context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.Response.WriteAsJsonAsync(error.ToResponse(), ServerJsonContext.Relaxed.ErrorResponse);
    }

    /// <summary><c>/v1/*</c> needs <c>Authorization: Bearer KEY</c>, compared in constant time; probes and scrapers (<c>/health</c>, <c>/metrics</c>) do not.</summary>
    private static Task RequireApiKeyAsync(HttpContext context, RequestDelegate next, string key)
    {
        if (context.Request.Path.StartsWithSegments("/v1"))
        {
            string header = context.Request.Headers.Authorization.ToString();
            bool bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
            if (!bearer || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), Encoding.UTF8.GetBytes(key)))
                throw new ApiException(401, bearer ? "the API key is not valid." : "an API key is required: send 'Authorization: Bearer KEY'.", code: "invalid_api_key");
        }
        return next(context);
    }
}
