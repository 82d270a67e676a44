using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Checkpoints;

/// <summary>
/// A random checkpoint every GGUF type can quantize without falling back — every row 256 values wide — small enough
/// to quantize in a fraction of a second: 2 layers, 4 experts (not 8, so llama.cpp's 8-expert rules stay out and its
/// Q4_K_M/Q5_K_M layer rule applies to layer 1), a 512-token vocabulary and a byte-level tokenizer of 259 tokens
/// (the 256 bytes, "he", and the two special tokens OlmoeTokenizer requires).
/// </summary>
internal static class QuantizableModel
{
    public static OlmoeConfig Config { get; } = OlmoeConfig.Olmoe1B7B with
    {
        VocabSize = 512, HiddenSize = 256, IntermediateSize = 256, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 4,
        NumExperts = 4, NumExpertsPerToken = 2, EosTokenIds = [257], PadTokenId = 258,
    };

    /// <summary>A prompt of ids the tokenizer has (and a few padding rows of the embedding).</summary>
    public static int[] Tokens { get; } = [5, 104, 256, 17, 300, 101, 104, 258, 0, 511, 42, 42];

    public static void Write(string directory, OlmoeConfig? config = null, ulong seed = 21)
    {
        RandomCheckpoint.Write(directory, config ?? Config, new RandomCheckpointOptions { Seed = seed });
        TokenizerJsonWriter.Write(Path.Combine(directory, OlmoeTokenizer.FileName), Tokenizer());
    }

    /// <summary>Logits of every position of <see cref="Tokens"/>, the prompt in one batch or token by token.</summary>
    public static float[] Logits(string path, ModelLoadOptions? options = null, bool tokenByToken = false)
    {
        using var model = OlmoeModel.Load(path, options ?? new ModelLoadOptions { Residency = WeightResidency.Mapped });
        return Logits(model, tokenByToken);
    }

    public static float[] Logits(OlmoeModel model, bool tokenByToken = false)
    {
        int vocab = model.Config.VocabSize;
        var logits = new float[Tokens.Length * vocab];
        var session = model.CreateSession();
        if (!tokenByToken) session.Evaluate(Tokens, logits);
        else
            for (int t = 0; t < Tokens.Length; t++) session.Evaluate(Tokens.AsSpan(t, 1), logits.AsSpan(t * vocab, vocab));
        return logits;
    }

    /// <summary>√(Σ(a − b)² / Σb²).</summary>
    public static double RelativeRms(float[] a, float[] b)
    {
        double error = 0, value = 0;
        for (int i = 0; i < a.Length; i++)
        {
            error += (double)(a[i] - b[i]) * (a[i] - b[i]);
            value += (double)b[i] * b[i];
        }
        return Math.Sqrt(error / value);
    }

    public static float MaxAbsDifference(float[] a, float[] b)
    {
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    private static TokenizerDefinition Tokenizer()
    {
        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ToChar((byte)b).ToString())
            .Concat(["he", "<|endoftext|>", "<|padding|>"]).ToArray();
        int h = 'h', e = 'e';
        return new TokenizerDefinition(tokens, [(h, e, 256)],
            [new AddedTokenDefinition(257, "<|endoftext|>", Special: true, Normalized: false), new AddedTokenDefinition(258, "<|padding|>", Special: true, Normalized: false)],
            NormalizeNfc: true);
    }
}
