using OlmoeSharp.Generation;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Server;

/// <summary>The model the server runs, with what requests need of it: the generator (shared by all requests), tokenizer, chat template and id.</summary>
internal sealed class LoadedModel(OlmoeModel model, string id)
{
    public OlmoeModel Model { get; } = model;

    /// <summary>The id clients name it by and responses report: the folder, file or repo name.</summary>
    public string Id { get; } = id;

    /// <summary>One generator for all requests, so they share its pool of idle sessions (prefix caching).</summary>
    public TextGenerator Generator { get; } = new(model);

    public OlmoeTokenizer Tokenizer { get; } = model.Tokenizer
        ?? throw new InvalidOperationException($"{model.Directory} has no tokenizer; the server needs one to read and write text.");

    /// <summary>The chat format, or null with the reason when the model's files declare one OlmoeSharp cannot run (chat requests then get a 400).</summary>
    public IChatTemplate? ChatTemplate => Model.ChatTemplate.Template;

    public int ContextLength => Model.Config.MaxPositionEmbeddings;

    /// <summary>Seconds since the Unix epoch at load, reported as the model's <c>created</c>.</summary>
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
