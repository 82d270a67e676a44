using Microsoft.Extensions.Logging;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Logging;

/// <summary>
/// The library logs through the <see cref="ILogger"/> it is given — load stages, kernels, residency and why, chat
/// template, warnings; generation at Debug — and works the same without one.
/// </summary>
public sealed class LoadLoggingTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    /// <summary>Collects every message at or above a level.</summary>
    private sealed class CollectingLogger(LogLevel minimum = LogLevel.Trace) : ILogger
    {
        public List<(LogLevel Level, EventId Id, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            lock (Entries) Entries.Add((logLevel, eventId, formatter(state, exception)));
        }
    }

    [Fact]
    public void Loading_logs_its_stages_kernels_residency_and_chat_template()
    {
        var logger = new CollectingLogger();
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Logger = logger, Residency = WeightResidency.Mapped });
        var messages = logger.Entries.Select(e => e.Message).ToList();

        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Information && e.Message == $"Weights {model.ResidencyChoice}");
        Assert.Contains(messages, m => m.StartsWith($"Loading {fixture.Directory}:", StringComparison.Ordinal) && m.Contains(" kernels"));
        Assert.Contains(messages, m => m.StartsWith("Load stage Weights", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Load stage Ready", StringComparison.Ordinal));
        Assert.Contains(messages, m => m == $"Chat template: {model.ChatTemplate.Description}");
        Assert.Contains(messages, m => m.StartsWith($"Loaded {fixture.Directory} in ", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Information_level_leaves_out_the_stages_and_keeps_the_choices()
    {
        var logger = new CollectingLogger(LogLevel.Information);
        var stages = new List<ModelLoadStage>();
        var progress = new SynchronousProgress(p => stages.Add(p.Stage));
        using var model = await OlmoeModel.LoadAsync(fixture.Directory, new ModelLoadOptions { Logger = logger, Residency = WeightResidency.Mapped }, progress);
        Assert.DoesNotContain(logger.Entries, e => e.Message.StartsWith("Load stage", StringComparison.Ordinal));
        Assert.Contains(logger.Entries, e => e.Message == $"Weights {model.ResidencyChoice}");
        // The caller's progress still sees every stage, as an enum.
        Assert.Equal(ModelLoadStage.Weights, stages[0]);
        Assert.Equal(ModelLoadStage.Ready, stages[^1]);
    }

    [Fact]
    public void A_chat_template_the_library_cannot_run_is_a_warning()
    {
        using var dir = new TempDirectory();
        foreach (string file in Directory.GetFiles(fixture.Directory)) File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        File.WriteAllText(dir.File("tokenizer_config.json"), """{ "chat_template": "{{ messages }}", "eos_token": "<|endoftext|>" }""");
        var logger = new CollectingLogger();
        using var model = OlmoeModel.Load(dir.Path, new ModelLoadOptions { Logger = logger, Residency = WeightResidency.Mapped });
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("not the Tulu template", StringComparison.Ordinal));
    }

    [Fact]
    public void A_residency_served_other_than_requested_is_a_warning_saying_why()
    {
        using var dir = new TempDirectory();
        string path = dir.File("q8_0.gguf");
        GgufExport.Write(fixture.Directory, path, new GgufExportOptions { FileType = GgufFileType.Q8_0 });
        var logger = new CollectingLogger();
        using var model = OlmoeModel.Load(path, new ModelLoadOptions { Logger = logger, Residency = WeightResidency.Q8_0 });
        Assert.Equal(WeightResidency.Mapped, model.Residency);
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Equal(103, warning.Id.Id);
        Assert.Contains("requested Q8_0 but served Mapped", warning.Message);
        Assert.Contains("already quantized", warning.Message);
    }

    [Fact]
    public async Task Generation_logs_at_debug_through_the_generator_s_logger()
    {
        var logger = new CollectingLogger();
        var generator = new TextGenerator(fixture.Model, logger: logger);
        var chat = new ChatSession(generator);
        var options = new GenerationOptions { MaxNewTokens = 3, Temperature = 0, IgnoreEndOfText = true };
        await foreach (var _ in chat.SendAsync("Hi", options)) { }
        await foreach (var _ in chat.SendAsync("And then?", options)) { }
        var starts = logger.Entries.Where(e => e.Level == LogLevel.Debug && e.Message.StartsWith("Generating: ", StringComparison.Ordinal))
            .Select(e => System.Text.RegularExpressions.Regex.Match(e.Message, @"^Generating: (\d+) prompt tokens \((\d+) to process\)"))
            .Select(m => (Prompt: int.Parse(m.Groups[1].Value), Pending: int.Parse(m.Groups[2].Value))).ToList();
        Assert.Equal(2, starts.Count);
        Assert.Equal(starts[0].Prompt, starts[0].Pending);   // the first turn processes its whole prompt
        Assert.True(starts[1].Pending < starts[1].Prompt);   // the second re-uses the first turn's cache, and says so
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Debug && e.Message.StartsWith("Generated 3 tokens, finish Length", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_logger_nothing_changes()
    {
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Residency = WeightResidency.Mapped });
        var generator = new TextGenerator(model);
        Assert.Same(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, generator.Logger);
        int tokens = 0;
        await foreach (var update in generator.GenerateAsync("Hello", new GenerationOptions { MaxNewTokens = 2, Temperature = 0, IgnoreEndOfText = true }))
            if (update.TokenId is not null) tokens++;
        Assert.Equal(2, tokens);
    }

    private sealed class SynchronousProgress(Action<ModelLoadProgress> report) : IProgress<ModelLoadProgress>
    {
        public void Report(ModelLoadProgress value) => report(value);
    }
}
