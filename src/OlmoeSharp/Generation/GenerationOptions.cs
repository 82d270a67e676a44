namespace OlmoeSharp.Generation;

/// <summary>How text is generated. The defaults sample moderately; set <see cref="Temperature"/> to 0 for greedy decoding.</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate at most.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Softmax temperature; 0 picks the most likely token every time (greedy).</summary>
    public float Temperature { get; init; } = 0.7f;

    /// <summary>Sample only among the K most likely tokens; 0 turns the filter off.</summary>
    public int TopK { get; init; }

    /// <summary>Sample only among the most likely tokens whose probabilities add up to P (nucleus sampling); 1 turns it off.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Drop tokens less likely than MinP × the probability of the most likely one; 0 turns it off.</summary>
    public float MinP { get; init; }

    /// <summary>Penalty for tokens already in the prompt or output (1 = none), as in Hugging Face transformers.</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Seed of the sampler: the same seed, prompt and options give the same text. Null draws a random seed.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Text that ends generation when produced (matched across token boundaries, never emitted).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>Keep generating after the end-of-text token. Not with a constrained <see cref="ResponseFormat"/>, which ends at the end of the document.</summary>
    public bool IgnoreEndOfText { get; init; }

    /// <summary>The most alternatives <see cref="TopLogProbs"/> may ask for (OpenAI's bound).</summary>
    public const int MaxTopLogProbs = 20;

    /// <summary>
    /// Report each generated token's log-probability in <see cref="GenerationUpdate.LogProbabilities"/>: the
    /// log-softmax of the model's logits at that step, before repetition penalty, temperature and filters.
    /// Off by default (it costs a pass over the vocabulary per token).
    /// </summary>
    public bool LogProbs { get; init; }

    /// <summary>With <see cref="LogProbs"/>: also report this many of the most probable tokens at each step, 0 to <see cref="MaxTopLogProbs"/>.</summary>
    public int TopLogProbs { get; init; }

    /// <summary>
    /// The shape of the output: free text (default), any JSON value, a JSON Schema or a GBNF grammar. A constrained
    /// generation stops with <see cref="FinishReason.Stop"/> at the end of the document, and always ends with a
    /// complete one within <see cref="MaxNewTokens"/> (see <see cref="Generation.ResponseFormat"/>).
    /// </summary>
    public ResponseFormat ResponseFormat { get; init; } = ResponseFormat.Text;

    /// <summary>Checks every value; throws <see cref="ArgumentOutOfRangeException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "must not be negative.");
        if (!float.IsFinite(Temperature) || Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be a finite number ≥ 0.");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "must not be negative (0 = off).");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "must be in (0, 1].");
        if (!(MinP >= 0 && MinP <= 1)) throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "must be in [0, 1].");
        if (!float.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "must be a finite number > 0.");
        if (TopLogProbs < 0 || TopLogProbs > MaxTopLogProbs) throw new ArgumentOutOfRangeException(nameof(TopLogProbs), TopLogProbs, $"must be in [0, {MaxTopLogProbs}].");
        if (TopLogProbs > 0 && !LogProbs) throw new ArgumentException("TopLogProbs needs LogProbs set.", nameof(TopLogProbs));
        if (StopSequences is null) throw new ArgumentNullException(nameof(StopSequences));
        if (ResponseFormat is null) throw new ArgumentNullException(nameof(ResponseFormat));
        if (IgnoreEndOfText && ResponseFormat.Kind != ResponseFormatKind.Text)
            throw new ArgumentException("IgnoreEndOfText cannot be combined with a constrained ResponseFormat, which ends at the end of the document.", nameof(IgnoreEndOfText));
        foreach (string stop in StopSequences)
            if (string.IsNullOrEmpty(stop)) throw new ArgumentException("stop sequences must be non-empty strings.", nameof(StopSequences));
    }
}
