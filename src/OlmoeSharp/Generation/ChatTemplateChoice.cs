using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Generation;

/// <summary>How <see cref="ChatTemplateChoice"/> came to its template.</summary>
public enum ChatTemplateStatus
{
    /// <summary>The model's files declare the Tulu template, which is what chats use (bos and eos as the files give them).</summary>
    Recognised,

    /// <summary>The model's files declare no template (a base model): chats use Tulu, the OLMoE Instruct format.</summary>
    Assumed,

    /// <summary>The caller chose the template (<see cref="ModelLoadOptions.ChatTemplate"/>).</summary>
    Overridden,

    /// <summary>The files declare a template OlmoeSharp cannot run: <see cref="ChatTemplateChoice.Template"/> is null and a chat is refused.</summary>
    Unsupported,
}

/// <summary>
/// The chat format a loaded model uses (<see cref="OlmoeModel.ChatTemplate"/>): decided by the <c>chat_template</c>
/// of the folder's tokenizer_config.json or of the GGUF file's <c>tokenizer.chat_template</c>, with the bos and eos
/// tokens and <c>add_bos_token</c> those files give; or chosen by the caller. A template that is not Tulu is not
/// guessed at: <see cref="Require"/> refuses it until the caller chooses one.
/// </summary>
public sealed class ChatTemplateChoice
{
    private const string EndOfText = "<|endoftext|>";

    private ChatTemplateChoice(ChatTemplateStatus status, IChatTemplate? template, string? declaredTemplate, string? source, string description)
    {
        Status = status;
        Template = template;
        DeclaredTemplate = declaredTemplate;
        Source = source;
        Description = description;
    }

    /// <summary>Whether the template was recognised in the files, assumed, chosen by the caller, or cannot be run.</summary>
    public ChatTemplateStatus Status { get; }

    /// <summary>The template chats use, or null when the files declare one OlmoeSharp cannot run (<see cref="ChatTemplateStatus.Unsupported"/>).</summary>
    public IChatTemplate? Template { get; }

    /// <summary>The Jinja <c>chat_template</c> text the files declare, or null when they declare none.</summary>
    public string? DeclaredTemplate { get; }

    /// <summary>The file the template (or its absence) was read from: a tokenizer_config.json, a .gguf file, or null when the folder has no tokenizer_config.json.</summary>
    public string? Source { get; }

    /// <summary>One line saying which template was chosen and why ("/models/x/tokenizer_config.json: chat template recognised as tulu (no leading bos, eos &lt;|endoftext|&gt;)").</summary>
    public string Description { get; }

    /// <inheritdoc/>
    public override string ToString() => Description;

    /// <summary>The template chats use.</summary>
    /// <exception cref="ChatTemplateNotSupportedException">The files declare a template OlmoeSharp cannot run and the caller chose none.</exception>
    public IChatTemplate Require() => Template ?? throw new ChatTemplateNotSupportedException(Source ?? "", Description);

    /// <summary>The template of a model folder, from its tokenizer_config.json when there is one.</summary>
    /// <exception cref="ModelFormatException">tokenizer_config.json is too big, malformed, or has a field of the wrong type.</exception>
    internal static ChatTemplateChoice FromFolder(string directory, IChatTemplate? chosen)
    {
        string path = Path.Combine(directory, TokenizerConfigReader.FileName);
        if (!File.Exists(path))
            return Resolve(null, null, null, null, null, chosen);
        var fields = TokenizerConfigReader.Read(path);
        return Resolve(path, fields.ChatTemplate, fields.BosToken, fields.EosToken, fields.AddBosToken, chosen);
    }

    /// <summary>The template of a GGUF file: <c>tokenizer.chat_template</c>, the bos and eos tokens by their ids, <c>tokenizer.ggml.add_bos_token</c>.</summary>
    /// <exception cref="ModelFormatException">A key has the wrong type.</exception>
    internal static ChatTemplateChoice FromGguf(GgufFile file, OlmoeTokenizer? tokenizer, IChatTemplate? chosen)
    {
        file.TryGet<string>("tokenizer.chat_template", out var template);
        bool? addBos = file.TryGet<bool>("tokenizer.ggml.add_bos_token", out bool add) ? add : null;
        return Resolve(file.FilePath, template, TokenText(file, tokenizer, "tokenizer.ggml.bos_token_id"),
            TokenText(file, tokenizer, "tokenizer.ggml.eos_token_id"), addBos, chosen);
    }

    /// <summary>The decision, from what the files say.</summary>
    internal static ChatTemplateChoice Resolve(string? source, string? template, string? bosToken, string? eosToken, bool? addBosToken, IChatTemplate? chosen)
    {
        string where = source ?? $"no {TokenizerConfigReader.FileName} in the model folder";
        string eos = string.IsNullOrEmpty(eosToken) ? EndOfText : eosToken;
        if (chosen is not null)
            return new(ChatTemplateStatus.Overridden, chosen, template, source,
                $"chat template {chosen}, chosen by the caller ({(source is null ? "the model's files declare none" : $"{source} declares {(template is null ? "none" : "its own")}")})");
        if (template is null)
        {
            // No template to read the bos handling from: the 0924 Instruct form, which always opens with bos.
            var assumed = new TuluChatTemplate(bosToken ?? EndOfText, eos);
            return new(ChatTemplateStatus.Assumed, assumed, null, source,
                source is null ? $"{where}: assuming {assumed}, the OLMoE Instruct format" : $"{where}: no chat template (a base model?): assuming {assumed}, the OLMoE Instruct format");
        }
        if (TuluTemplateRecognizer.Recognise(template, bosToken, eos) is { } match)
        {
            // A leading {{ bos_token }} renders the bos text; without one, the tokenizer adds it only if add_bos_token says so.
            bool leadingBos = match.LeadingBos || addBosToken == true;
            var tulu = new TuluChatTemplate(leadingBos ? bosToken : null, eos);
            return new(ChatTemplateStatus.Recognised, tulu, template, source, $"{where}: chat template recognised as {tulu}");
        }
        return new(ChatTemplateStatus.Unsupported, null, template, source,
            $"{where}: its chat_template is not the Tulu template of OLMoE Instruct, the only format OlmoeSharp renders; "
            + "to chat in the Tulu format anyway choose it (ModelLoadOptions.ChatTemplate = new TuluChatTemplate(); the CLI's --template tulu), "
            + "or pass an IChatTemplate of your own");
    }

    private static string? TokenText(GgufFile file, OlmoeTokenizer? tokenizer, string key)
    {
        if (tokenizer is null || !file.TryGet<uint>(key, out uint id)) return null;
        if (id >= (uint)tokenizer.VocabularySize)
            throw new ModelFormatException(file.FilePath, $"token id {id} is outside the vocabulary of {tokenizer.VocabularySize}.", key);
        ReadOnlySpan<int> ids = [(int)id];
        return tokenizer.Decode(ids, skipSpecialTokens: false);
    }
}
