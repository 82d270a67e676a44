using Microsoft.Extensions.Logging;

namespace OlmoeSharp;

/// <summary>
/// Every message the library logs, with its event id and level, through <see cref="ModelLoadOptions.Logger"/> and the
/// generators' loggers (source-generated: no formatting cost when the level is off). Ids: 1xx loading, 2xx generation.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Loading {Model}: {Layers} layers, hidden size {Hidden}, {Experts} experts (top {TopK}), {Threads} threads, {Simd} kernels")]
    public static partial void LoadStarted(ILogger logger, string model, int layers, int hidden, int experts, int topK, int threads, string simd);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Load stage {Stage}: {Detail}")]
    public static partial void LoadStage(ILogger logger, ModelLoadStage stage, string detail);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Weights {Choice}")]
    public static partial void ResidencyChosen(ILogger logger, string choice);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Weights requested {Requested} but served {Served}: {Choice}")]
    public static partial void ResidencyNotAsRequested(ILogger logger, WeightResidency requested, WeightResidency served, string choice);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Chat template: {Description}")]
    public static partial void ChatTemplateChosen(ILogger logger, string description);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Chat template: {Description}")]
    public static partial void ChatTemplateProblem(ILogger logger, string description);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "{Model} has no tokenizer: generation works from token ids only")]
    public static partial void NoTokenizer(ILogger logger, string model);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Loaded {Model} in {Seconds:F2} s: {WeightBytes} bytes of weights, {KvCache} KV cache")]
    public static partial void LoadFinished(ILogger logger, string model, double seconds, long weightBytes, KvCachePrecision kvCache);

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Generating: {PromptTokens} prompt tokens ({Pending} to process), at most {MaxNewTokens} new")]
    public static partial void GenerationStarted(ILogger logger, int promptTokens, int pending, int maxNewTokens);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Generated {Tokens} tokens, finish {Finish}: prompt {PromptTokensPerSecond:F1} tok/s, decode {DecodeTokensPerSecond:F2} tok/s")]
    public static partial void GenerationFinished(ILogger logger, int tokens, string finish, double promptTokensPerSecond, double decodeTokensPerSecond);
}
