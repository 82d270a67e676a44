namespace OlmoeSharp.Model;

/// <summary>
/// The expert half of a MoE layer's working memory for a block of tokens (part of <see cref="RunState"/>): the
/// (token, chosen expert) pairs bucketed by expert, and each pair's activations. A "slot" is an expert chosen by at
/// least one token of the block; slots are in ascending expert order and own consecutive pairs.
/// </summary>
internal sealed class ExpertBuffers
{
    private readonly int _d;
    private readonly int _inter;
    private readonly int _k;

    public ExpertBuffers(OlmoeConfig config)
    {
        _d = config.HiddenSize;
        _inter = config.IntermediateSize;
        _k = config.NumExpertsPerToken;
        PairsPerExpert = new int[config.NumExperts];
        SlotExpert = new int[config.NumExperts];
        SlotStart = new int[config.NumExperts + 1];
    }

    public int[] PairsPerExpert { get; }   // [E] counting-sort scratch
    public int[] SlotExpert { get; }       // [slots] the expert of each slot
    public int[] SlotStart { get; }        // [slots + 1] first pair of each slot; the last entry is the pair count
    public int SlotCount { get; set; }

    public int[] PairToken { get; private set; } = [];     // [pairs] the token of each pair
    public float[] PairWeight { get; private set; } = [];  // [pairs] its router weight
    public float[] Gathered { get; private set; } = [];    // [pairs, d] the pair's token's normed hidden state
    public float[] Gate { get; private set; } = [];        // [pairs, I] gate·x, then silu(gate·x)·(up·x)
    public float[] Up { get; private set; } = [];          // [pairs, I] up·x
    public float[] Down { get; private set; } = [];        // [pairs, d] the expert's output

    /// <summary>Sizes the buffers for blocks of up to <paramref name="tokens"/> tokens (once, not per call).</summary>
    public void EnsureCapacity(int tokens)
    {
        int pairs = tokens * _k;
        if (PairToken.Length >= pairs) return;
        PairToken = new int[pairs];
        PairWeight = new float[pairs];
        Gathered = new float[pairs * _d];
        Gate = new float[pairs * _inter];
        Up = new float[pairs * _inter];
        Down = new float[pairs * _d];
    }
}
