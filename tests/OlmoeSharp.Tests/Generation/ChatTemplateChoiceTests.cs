using System.Text.Json;
using OlmoeSharp.Generation;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Generation;

/// <summary>
/// The chat format a model's tokenizer_config.json (or GGUF <c>tokenizer.chat_template</c>) declares: the Tulu template
/// of the OLMoE-0924 and -0125 Instruct files recognised by structure, bos/eos from the file, other templates refused
/// until the caller chooses one, base models assumed Tulu, hostile files refused with the file and key named.
/// </summary>
public sealed class ChatTemplateChoiceTests
{
    /// <summary>The Tulu template as the OLMoE-1B-7B-0924-Instruct tokenizer_config.json holds it (decoded from its JSON).</summary>
    internal const string Tulu0924 =
        "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}"
        + "{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}"
        + "{% elif message['role'] == 'assistant' %}{% if not loop.last %}{{ '<|assistant|>\n'  + message['content'] + eos_token + '\n' }}"
        + "{% else %}{{ '<|assistant|>\n'  + message['content'] + eos_token }}{% endif %}{% endif %}"
        + "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}";

    /// <summary>The same template as the 0125 Instruct files write it: no leading <c>{{ bos_token }}</c>.</summary>
    internal const string Tulu0125 =
        "{% for message in messages %}{% if message['role'] == 'system' %}{{ '<|system|>\n' + message['content'] + '\n' }}"
        + "{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '\n' }}"
        + "{% elif message['role'] == 'assistant' %}{% if not loop.last %}{{ '<|assistant|>\n'  + message['content'] + eos_token + '\n' }}"
        + "{% else %}{{ '<|assistant|>\n'  + message['content'] + eos_token }}{% endif %}{% endif %}"
        + "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}{% endfor %}";

    /// <summary>The 0924 template re-spelled: whitespace control, line breaks between tags, double quotes, \n escapes, message.content.</summary>
    private const string Tulu0924Reformatted =
        "{{- bos_token -}}\n{%- for message in messages -%}\n  {%- if message.role == \"system\" -%}\n    {{ \"<|system|>\\n\" + message.content + \"\\n\" }}\n"
        + "  {%- elif message.role == \"user\" -%}\n    {{ \"<|user|>\\n\" + message.content + \"\\n\" }}\n"
        + "  {%- elif message.role == \"assistant\" -%}\n    {%- if not loop.last -%}\n      {{ \"<|assistant|>\\n\" + message.content + eos_token + \"\\n\" }}\n"
        + "    {%- else -%}\n      {{ \"<|assistant|>\\n\" + message.content + eos_token }}\n    {%- endif -%}\n  {%- endif -%}\n"
        + "  {%- if loop.last and add_generation_prompt -%}\n    {{ \"<|assistant|>\\n\" }}\n  {%- endif -%}\n{%- endfor -%}";

    private const string ChatMl =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /// <summary>Phi-3's template: Tulu's role markers, but turns end with &lt;|end|&gt;, not eos.</summary>
    private const string Phi3Like =
        "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
        + "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
        + "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}";

    private static readonly ChatTurn[] Conversation =
    [
        new(TurnRole.System, "Be brief."),
        new(TurnRole.User, "Hi"),
        new(TurnRole.Assistant, "Hello!"),
        new(TurnRole.User, "Bye"),
    ];

    private const string ConversationBody =
        "<|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello!<|endoftext|>\n<|user|>\nBye\n<|assistant|>\n";

    /// <summary>A tokenizer_config.json as the OLMoE Instruct repos ship it, with the given template and bos settings.</summary>
    internal static string TokenizerConfig(string? template, bool? addBos = false, object? bos = null)
    {
        var fields = new Dictionary<string, object?>
        {
            ["add_bos_token"] = addBos,
            ["add_eos_token"] = false,
            ["added_tokens_decoder"] = new Dictionary<string, object>
            {
                ["1"] = new { content = "<|padding|>", lstrip = false, normalized = false, rstrip = false, single_word = false, special = true },
                ["50279"] = new { content = "<|endoftext|>", lstrip = false, normalized = false, rstrip = false, single_word = false, special = true },
            },
            ["bos_token"] = bos ?? "<|endoftext|>",
            ["clean_up_tokenization_spaces"] = true,
            ["eos_token"] = "<|endoftext|>",
            ["model_max_length"] = 4096,
            ["pad_token"] = "<|padding|>",
            ["tokenizer_class"] = "GPTNeoXTokenizer",
            ["unk_token"] = "<|endoftext|>",
        };
        if (addBos is null) fields.Remove("add_bos_token");
        if (template is not null) fields["chat_template"] = template;
        return JsonSerializer.Serialize(fields, new JsonSerializerOptions { WriteIndented = true });
    }

    private static ChatTemplateChoice FromFolderWith(TempDirectory dir, string json, IChatTemplate? chosen = null)
    {
        File.WriteAllText(dir.File(TokenizerConfigReader.FileName), json);
        return ChatTemplateChoice.FromFolder(dir.Path, chosen);
    }

    [Fact]
    public void The_0924_template_is_recognised_and_opens_with_bos()
    {
        using var dir = new TempDirectory();
        var choice = FromFolderWith(dir, TokenizerConfig(Tulu0924));
        Assert.Equal(ChatTemplateStatus.Recognised, choice.Status);
        Assert.Equal(Tulu0924, choice.DeclaredTemplate);
        Assert.Equal(dir.File(TokenizerConfigReader.FileName), choice.Source);
        Assert.Equal("<|endoftext|>" + ConversationBody, choice.Require().Render(Conversation, addGenerationPrompt: true));
        // The default Tulu template is this very format.
        Assert.Equal(new TuluChatTemplate().Render(Conversation, true), choice.Require().Render(Conversation, true));
    }

    [Fact]
    public void The_0125_template_is_recognised_without_a_leading_bos()
    {
        using var dir = new TempDirectory();
        var choice = FromFolderWith(dir, TokenizerConfig(Tulu0125));
        Assert.Equal(ChatTemplateStatus.Recognised, choice.Status);
        Assert.Equal(ConversationBody, choice.Require().Render(Conversation, addGenerationPrompt: true));
        Assert.Contains("no leading bos", choice.Description);
    }

    [Fact]
    public void Without_bos_in_the_template_add_bos_token_decides()
    {
        using var dir = new TempDirectory();
        var choice = FromFolderWith(dir, TokenizerConfig(Tulu0125, addBos: true));
        Assert.Equal("<|endoftext|>" + ConversationBody, choice.Require().Render(Conversation, addGenerationPrompt: true));
    }

    [Fact]
    public void Bos_and_eos_come_from_the_file_in_either_spelling()
    {
        using var dir = new TempDirectory();
        // transformers writes AddedToken objects for bos_token/eos_token in older files.
        string json = TokenizerConfig(Tulu0924, bos: new { __type = "AddedToken", content = "<|padding|>", special = true });
        var choice = FromFolderWith(dir, json);
        Assert.Equal("<|padding|><|user|>\nHi\n<|assistant|>\n", choice.Require().Render([new ChatTurn(TurnRole.User, "Hi")], true));
    }

    [Fact]
    public void A_reformatted_tulu_template_is_still_recognised()
    {
        using var dir = new TempDirectory();
        var choice = FromFolderWith(dir, TokenizerConfig(Tulu0924Reformatted));
        Assert.Equal(ChatTemplateStatus.Recognised, choice.Status);
        Assert.Equal("<|endoftext|>" + ConversationBody, choice.Require().Render(Conversation, addGenerationPrompt: true));
    }

    [Theory]
    [InlineData(ChatMl)]
    [InlineData(Phi3Like)]
    [InlineData("{{ messages }}")]
    public void An_unknown_template_is_refused_with_a_message_and_the_override_works(string template)
    {
        using var dir = new TempDirectory();
        var choice = FromFolderWith(dir, TokenizerConfig(template));
        Assert.Equal(ChatTemplateStatus.Unsupported, choice.Status);
        Assert.Null(choice.Template);
        var error = Assert.Throws<ChatTemplateNotSupportedException>(() => choice.Require());
        Assert.Contains(dir.File(TokenizerConfigReader.FileName), error.Message);
        Assert.Contains("--template tulu", error.Message);
        Assert.Contains("ModelLoadOptions.ChatTemplate", error.Message);

        var chosen = FromFolderWith(dir, TokenizerConfig(template), new TuluChatTemplate());
        Assert.Equal(ChatTemplateStatus.Overridden, chosen.Status);
        Assert.Equal("<|endoftext|>" + ConversationBody, chosen.Require().Render(Conversation, true));
    }

    [Fact]
    public void Without_a_tokenizer_config_or_a_template_tulu_is_assumed_and_said()
    {
        using var dir = new TempDirectory();
        var missing = ChatTemplateChoice.FromFolder(dir.Path, null);
        Assert.Equal(ChatTemplateStatus.Assumed, missing.Status);
        Assert.Null(missing.Source);
        Assert.Contains("assuming tulu", missing.Description);
        Assert.Equal("<|endoftext|>" + ConversationBody, missing.Require().Render(Conversation, true));

        // A base model's tokenizer_config.json: no chat_template.
        var none = FromFolderWith(dir, TokenizerConfig(null, addBos: null));
        Assert.Equal(ChatTemplateStatus.Assumed, none.Status);
        Assert.Contains("no chat template", none.Description);
    }

    [Theory]
    [InlineData("""{ "chat_template": 42 }""", "chat_template")]
    [InlineData("""{ "chat_template": ["{{ messages }}"] }""", "chat_template")]
    [InlineData("""{ "chat_template": "{{ x }}", "bos_token": ["<|endoftext|>"] }""", "bos_token")]
    [InlineData("""{ "chat_template": "{{ x }}", "eos_token": { "text": "<|endoftext|>" } }""", "eos_token")]
    [InlineData("""{ "chat_template": "{{ x }}", "add_bos_token": "yes" }""", "add_bos_token")]
    [InlineData("""["chat_template"]""", null)]
    [InlineData("""{ "chat_template": "unterminated """, null)]
    public void A_hostile_tokenizer_config_is_refused_naming_the_file_and_key(string json, string? key)
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<ModelFormatException>(() => FromFolderWith(dir, json));
        Assert.Equal(dir.File(TokenizerConfigReader.FileName), error.FilePath);
        Assert.Equal(key, error.Item);
        Assert.StartsWith(dir.File(TokenizerConfigReader.FileName), error.Message);
    }

    [Fact]
    public void A_too_big_tokenizer_config_is_refused_before_it_is_read()
    {
        using var dir = new TempDirectory();
        using (var stream = File.Create(dir.File(TokenizerConfigReader.FileName)))
            stream.SetLength(TokenizerConfigReader.MaxFileBytes + 1);
        var error = Assert.Throws<ModelFormatException>(() => ChatTemplateChoice.FromFolder(dir.Path, null));
        Assert.Contains("at most", error.Message);
        Assert.Equal(dir.File(TokenizerConfigReader.FileName), error.FilePath);
    }

    [Fact]
    public void A_model_with_an_unknown_template_loads_but_refuses_to_chat_until_one_is_chosen()
    {
        using var dir = new TempDirectory();
        WriteTinyModel(dir, TokenizerConfig(ChatMl));
        using (var model = OlmoeModel.Load(dir.Path))
        {
            Assert.Equal(ChatTemplateStatus.Unsupported, model.ChatTemplate.Status);
            Assert.Throws<ChatTemplateNotSupportedException>(() => new ChatSession(new TextGenerator(model)));
            Assert.Throws<ChatTemplateNotSupportedException>(() => new OlmoeSharp.AI.OlmoeChatClient(new TextGenerator(model)));
            // An explicit template is the caller's choice.
            Assert.NotNull(new ChatSession(new TextGenerator(model), new TuluChatTemplate()));
        }
        using var chosen = OlmoeModel.Load(dir.Path, new ModelLoadOptions { ChatTemplate = new TuluChatTemplate() });
        Assert.Equal(ChatTemplateStatus.Overridden, chosen.ChatTemplate.Status);
        var session = new ChatSession(new TextGenerator(chosen));
        Assert.IsType<TuluChatTemplate>(session.Template);
    }

    [Fact]
    public void A_0125_model_chats_without_the_leading_bos()
    {
        using var dir = new TempDirectory();
        WriteTinyModel(dir, TokenizerConfig(Tulu0125));
        using var model = OlmoeModel.Load(dir.Path);
        var session = new ChatSession(new TextGenerator(model));
        Assert.Equal(ConversationBody, session.Template.Render(Conversation, true));
    }

    [Fact]
    public void A_gguf_file_s_chat_template_decides_its_format()
    {
        using var dir = new TempDirectory();
        WriteTinyModel(dir, TokenizerConfig(Tulu0125));
        string recognised = dir.File("tulu.gguf");
        GgufExport.Write(dir.Path, recognised);
        using (var file = GgufFile.Open(recognised))
            Assert.Equal(Tulu0125, file.GetString("tokenizer.chat_template"));
        using (var model = OlmoeModel.Load(recognised))
        {
            Assert.Equal(ChatTemplateStatus.Recognised, model.ChatTemplate.Status);
            Assert.Equal(recognised, model.ChatTemplate.Source);
            Assert.Equal(ConversationBody, model.ChatTemplate.Require().Render(Conversation, true));
        }

        File.WriteAllText(dir.File(TokenizerConfigReader.FileName), TokenizerConfig(ChatMl));
        string unknown = dir.File("chatml.gguf");
        GgufExport.Write(dir.Path, unknown);
        using (var model = OlmoeModel.Load(unknown))
        {
            Assert.Equal(ChatTemplateStatus.Unsupported, model.ChatTemplate.Status);
            Assert.Contains(unknown, Assert.Throws<ChatTemplateNotSupportedException>(() => model.ChatTemplate.Require()).Message);
        }

        File.Delete(dir.File(TokenizerConfigReader.FileName));
        string none = dir.File("base.gguf");
        GgufExport.Write(dir.Path, none);
        using (var model = OlmoeModel.Load(none))
            Assert.Equal(ChatTemplateStatus.Assumed, model.ChatTemplate.Status);
    }

    private static void WriteTinyModel(TempDirectory dir, string tokenizerConfig)
    {
        RandomCheckpoint.Write(dir.Path, RandomCheckpoint.Tiny, new RandomCheckpointOptions { Seed = 5 });
        File.Copy(SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json"), dir.File(OlmoeTokenizer.FileName));
        File.WriteAllText(dir.File(TokenizerConfigReader.FileName), tokenizerConfig);
    }
}
