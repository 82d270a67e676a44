using System.Text;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Server;

/// <summary>Collects one choice's updates into the whole answer a non-streaming request returns.</summary>
internal sealed class ChoiceAccumulator
{
    private readonly StringBuilder _text = new();
    private readonly List<(int Token, TokenLogProbabilities LogProbabilities)> _steps = [];

    public string Text => _text.ToString();

    /// <summary>Each generated token with its log-probabilities, when they were asked for.</summary>
    public IReadOnlyList<(int Token, TokenLogProbabilities LogProbabilities)> Steps => _steps;

    public FinishReason? FinishReason { get; private set; }

    public GenerationUsage? Usage { get; private set; }

    public void Add(GenerationUpdate update)
    {
        _text.Append(update.Text);
        if (update is { TokenId: int id, LogProbabilities: { } logProbabilities }) _steps.Add((id, logProbabilities));
        FinishReason = update.FinishReason ?? FinishReason;
        Usage = update.Usage ?? Usage;
    }
}
