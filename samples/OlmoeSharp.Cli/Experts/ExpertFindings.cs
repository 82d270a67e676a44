using OlmoeSharp.Analysis;

namespace OlmoeSharp.Cli.Experts;

/// <summary>Everything the experts command measured, for its tables, pictures and report.</summary>
/// <param name="Model">The --model argument (the final checkpoint when comparing).</param>
/// <param name="CompareModel">The --compare argument, or null.</param>
/// <param name="Context">Tokens per window the inputs were routed in.</param>
/// <param name="Routings">One routing per input file, under <paramref name="Model"/>.</param>
/// <param name="Load">The expert load over all inputs.</param>
/// <param name="LoadPerInput">The expert load of each input (its domain).</param>
/// <param name="CoActivation">Co-activation over all inputs.</param>
/// <param name="Vocabulary">Vocabulary specialisation over all inputs.</param>
/// <param name="Saturation">Router saturation of <paramref name="CompareModel"/> against <paramref name="Model"/>, or null.</param>
/// <param name="Decode">A token id's text.</param>
internal sealed record ExpertFindings(
    string Model,
    string? CompareModel,
    int Context,
    IReadOnlyList<InputRouting> Routings,
    ExpertLoad Load,
    IReadOnlyList<ExpertLoad> LoadPerInput,
    CoActivation CoActivation,
    VocabularySpecialisation Vocabulary,
    RouterSaturation? Saturation,
    Func<int, string> Decode)
{
    public int Layers => Load.Layers;

    public int NumExperts => Load.NumExperts;

    public int ExpertsPerToken => Load.ExpertsPerToken;

    /// <summary>The layers drawn one by one (co-activation, domains): the first, the middle and the last, as the paper shows.</summary>
    public IReadOnlyList<int> PictureLayers => new SortedSet<int> { 0, (Layers - 1) / 2, Layers - 1 }.ToList();
}
