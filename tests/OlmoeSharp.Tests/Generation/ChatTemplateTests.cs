using OlmoeSharp.Generation;
using OlmoeSharp.Tests.Tokenization;

namespace OlmoeSharp.Tests.Generation;

public sealed class ChatTemplateTests
{
    private readonly TuluChatTemplate _template = new();

    [Fact]
    public void Renders_a_user_turn_with_the_generation_prompt()
    {
        Assert.Equal(
            "<|endoftext|><|user|>\nHi\n<|assistant|>\n",
            _template.Render([new ChatTurn(TurnRole.User, "Hi")], addGenerationPrompt: true));
    }

    [Fact]
    public void Renders_a_conversation_with_eos_after_each_assistant_turn()
    {
        ChatTurn[] turns =
        [
            new(TurnRole.System, "Be brief."),
            new(TurnRole.User, "Hi"),
            new(TurnRole.Assistant, "Hello!"),
            new(TurnRole.User, "  padded  "),
        ];

        Assert.Equal(
            "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello!<|endoftext|>\n<|user|>\n  padded  \n<|assistant|>\n",
            _template.Render(turns, addGenerationPrompt: true));
        Assert.Equal(
            "<|endoftext|><|system|>\nBe brief.\n<|user|>\nHi\n<|assistant|>\nHello!<|endoftext|>\n<|user|>\n  padded  \n",
            _template.Render(turns, addGenerationPrompt: false));
    }

    [Fact]
    public void A_final_assistant_turn_ends_with_eos_and_no_newline()
    {
        ChatTurn[] turns = [new(TurnRole.User, "Hi"), new(TurnRole.Assistant, "Hello!")];

        Assert.Equal("<|endoftext|><|user|>\nHi\n<|assistant|>\nHello!<|endoftext|>", _template.Render(turns, false));
    }

    [Fact]
    public void An_empty_conversation_is_the_bos_alone()
    {
        Assert.Equal("<|endoftext|>", _template.Render([], addGenerationPrompt: true));
    }

    [Fact]
    public void Rejects_null_turns_and_text()
    {
        Assert.Throws<ArgumentNullException>(() => _template.Render(null!, true));
        Assert.Throws<ArgumentException>(() => _template.Render([null!], true));
        Assert.Throws<ArgumentNullException>(() => _template.Render([new ChatTurn(TurnRole.User, null!)], true));
        Assert.Throws<ArgumentException>(() => _template.Render([new ChatTurn((TurnRole)42, "x")], true));
    }

    [Fact]
    public void Encodes_like_the_olmoe_instruct_training_data()
    {
        // From the OLMoE SFT/DPO logs: "<|endoftext|><|user|>\n" -> 50279 29 93 4537 49651 187; role markers are text.
        string prompt = _template.Render([new ChatTurn(TurnRole.User, "Hi")], addGenerationPrompt: true);

        var ids = TokenizerFixture.Tokenizer.Encode(prompt);

        Assert.Equal([50279, 29, 93, 4537, 49651, 187], ids.Take(6));
        Assert.Single(ids, id => id == TokenizerFixture.Tokenizer.EndOfTextId);
    }
}
