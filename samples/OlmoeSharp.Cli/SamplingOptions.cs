using System.CommandLine;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Cli;

/// <summary>The sampling options of generate and chat, defined once and turned into <see cref="GenerationOptions"/>.</summary>
internal sealed class SamplingOptions
{
    private readonly Option<int> _maxNewTokens = new("--max-new-tokens") { Description = "Tokens to generate at most.", DefaultValueFactory = _ => 256 };
    private readonly Option<float> _temperature = new("--temperature") { Description = "Sampling temperature (0 = greedy).", DefaultValueFactory = _ => 0.7f };
    private readonly Option<int> _topK = new("--top-k") { Description = "Sample among the K most likely tokens (0 = off)." };
    private readonly Option<float> _topP = new("--top-p") { Description = "Nucleus sampling threshold (1 = off).", DefaultValueFactory = _ => 1f };
    private readonly Option<float> _minP = new("--min-p") { Description = "Drop tokens below this fraction of the best one's probability (0 = off)." };
    private readonly Option<float> _repetitionPenalty = new("--repetition-penalty") { Description = "Penalty for repeated tokens (1 = off).", DefaultValueFactory = _ => 1f };
    private readonly Option<ulong?> _seed = new("--seed") { Description = "Seed: the same seed gives the same text." };
    private readonly Option<string[]> _stop = new("--stop") { Description = "Stop when this text appears (repeatable).", AllowMultipleArgumentsPerToken = false };
    private readonly Option<bool> _greedy = new("--greedy") { Description = "Always take the most likely token (same as --temperature 0)." };
    private readonly Option<bool> _ignoreEos = new("--ignore-eos") { Description = "Keep generating after the end-of-text token." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _maxNewTokens, _temperature, _topK, _topP, _minP, _repetitionPenalty, _seed, _stop, _greedy, _ignoreEos })
            command.Options.Add(option);
    }

    /// <summary>The options as given; invalid values surface as ArgumentOutOfRangeException naming the option.</summary>
    public GenerationOptions Read(ParseResult parse)
    {
        var options = new GenerationOptions
        {
            MaxNewTokens = parse.GetValue(_maxNewTokens),
            Temperature = parse.GetValue(_greedy) ? 0f : parse.GetValue(_temperature),
            TopK = parse.GetValue(_topK),
            TopP = parse.GetValue(_topP),
            MinP = parse.GetValue(_minP),
            RepetitionPenalty = parse.GetValue(_repetitionPenalty),
            Seed = parse.GetValue(_seed),
            StopSequences = parse.GetValue(_stop) ?? [],
            IgnoreEndOfText = parse.GetValue(_ignoreEos),
        };
        options.Validate();
        return options;
    }
}
