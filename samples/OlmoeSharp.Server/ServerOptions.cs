using System.CommandLine;

namespace OlmoeSharp.Server;

/// <summary>How the server is started: <c>[--model M] [--urls U] [--api-key KEY] [--max-sequences N] [--max-queue N] [--threads N]</c>.</summary>
internal sealed record ServerOptions
{
    /// <summary>A model folder, GGUF file or Hugging Face repo id; null runs the small random model (made on first start).</summary>
    public string? Model { get; init; }

    /// <summary>Where Kestrel listens; <c>;</c>-separated. Port 0 picks a free port (tests).</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>When set, <c>/v1/*</c> requires <c>Authorization: Bearer KEY</c>; <c>/health</c> and <c>/metrics</c> stay open for probes and scrapers.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Sequences generating at once (a request with n choices counts n).</summary>
    public int MaxSequences { get; init; } = 8;

    /// <summary>Sequences waiting for room; past that, requests get 429.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Threads per forward pass; 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Largest request body read; larger ones get 413 before they are parsed.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;

    /// <summary>The command line, or null after help or an error (printed by System.CommandLine; <paramref name="exitCode"/> says which).</summary>
    public static ServerOptions? Parse(string[] args, out int exitCode)
    {
        var defaults = new ServerOptions();
        var model = new Option<string?>("--model") { Description = "Model folder, .gguf file or Hugging Face repo id (default: a small model with random weights, made in models/ on first start)." };
        var urls = new Option<string>("--urls") { Description = "Where to listen (';'-separated).", DefaultValueFactory = _ => defaults.Urls };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on /v1/* (default: OLMOE_API_KEY, else none)." };
        var maxSequences = AtLeast(1, new Option<int>("--max-sequences") { Description = "Sequences generating at once.", DefaultValueFactory = _ => defaults.MaxSequences });
        var maxQueue = AtLeast(0, new Option<int>("--max-queue") { Description = "Sequences allowed to wait; beyond, requests get 429.", DefaultValueFactory = _ => defaults.MaxQueue });
        var threads = AtLeast(0, new Option<int>("--threads") { Description = "Threads per forward pass (0 = one per core).", DefaultValueFactory = _ => 0 });
        var root = new RootCommand("OlmoeSharp.Server: an OpenAI-compatible server for OLMoE.") { model, urls, apiKey, maxSequences, maxQueue, threads };

        ServerOptions? parsed = null;
        root.SetAction(result => parsed = new ServerOptions
        {
            Model = result.GetValue(model),
            Urls = result.GetValue(urls)!,
            ApiKey = result.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("OLMOE_API_KEY") is { Length: > 0 } key ? key : null),
            MaxSequences = result.GetValue(maxSequences),
            MaxQueue = result.GetValue(maxQueue),
            Threads = result.GetValue(threads),
        });
        exitCode = root.Parse(args).Invoke();
        return exitCode == 0 ? parsed : null;
    }

    private static Option<int> AtLeast(int minimum, Option<int> option)
    {
        // A value that is not a number is System.CommandLine's own error; only numbers are checked here.
        option.Validators.Add(r =>
        {
            if (r.Tokens is [var token] && int.TryParse(token.Value, System.Globalization.CultureInfo.InvariantCulture, out int value) && value < minimum)
                r.AddError($"{option.Name} must be {minimum} or more; it is {value}.");
        });
        return option;
    }
}
