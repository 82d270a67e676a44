namespace OlmoeSharp.Model;

/// <summary>
/// The activations a forward pass writes for a block of tokens — the RunState of Config / Weights / RunState —
/// row-major [tokens, width], named after the steps of docs/model.md. The block may hold one sequence's tokens or
/// several sequences' (a batched step); their keys and values live in each sequence's own <see cref="KvCache"/>.
/// Buffers grow to the largest block seen and are then reused, so decoding allocates nothing. (The kernels' own
/// per-thread scratch is <see cref="Tensors.ThreadScratch"/>: the worker threads are shared by all sessions.)
/// </summary>
internal sealed class RunState
{
    /// <summary>Logit rows computed at once when every row is wanted (bounds <see cref="Logits"/>).</summary>
    public const int LogitRowsPerPass = 16;

    private readonly OlmoeConfig _config;

    public RunState(OlmoeConfig config)
    {
        _config = config;
        Experts = new ExpertBuffers(config);
        RopeCos = new float[config.HeadDim / 2];
        RopeSin = new float[config.HeadDim / 2];
        EnsureCapacity(1);
    }

    /// <summary>Tokens per block the buffers hold.</summary>
    public int Capacity { get; private set; }

    public float[] Hidden { get; private set; } = [];          // h [tokens, d] the residual stream
    public float[] Normed { get; private set; } = [];          // [tokens, d] RMSNorm(h), the input of a block
    public float[] Query { get; private set; } = [];           // [tokens, heads·hd]
    public float[] Key { get; private set; } = [];             // [tokens, kvHeads·hd]
    public float[] Value { get; private set; } = [];           // [tokens, kvHeads·hd]
    public float[] AttentionHeads { get; private set; } = [];  // [tokens, heads·hd] attention output before o_proj
    public float[] AttentionOutput { get; private set; } = []; // [tokens, d] after o_proj
    public float[] MoeOutput { get; private set; } = [];       // [tokens, d] Σ_chosen w·expert(m), before it joins h
    public float[] RouterLogits { get; private set; } = [];    // [tokens, E], then the router's probabilities
    public int[] ChosenExperts { get; private set; } = [];     // [tokens, k]
    public float[] ChosenWeights { get; private set; } = [];   // [tokens, k]
    public float[] Logits { get; private set; } = [];          // [min(tokens, LogitRowsPerPass), V]
    public float[] RopeCos { get; }                            // [hd/2] one position's rotation
    public float[] RopeSin { get; }                            // [hd/2]
    public float[] Scores { get; private set; } = [];          // [heads, ScoreStride] attention weights per head
    public ExpertBuffers Experts { get; }                      // the MoE pairs and their activations

    /// <summary>Makes room for a block of <paramref name="tokens"/> tokens.</summary>
    public void EnsureCapacity(int tokens)
    {
        if (tokens <= Capacity) return;
        var c = _config;
        int d = c.HiddenSize, qSize = c.NumAttentionHeads * c.HeadDim, kv = c.KeyValueSize;
        Hidden = new float[tokens * d];
        Normed = new float[tokens * d];
        Query = new float[tokens * qSize];
        Key = new float[tokens * kv];
        Value = new float[tokens * kv];
        AttentionHeads = new float[tokens * qSize];
        AttentionOutput = new float[tokens * d];
        MoeOutput = new float[tokens * d];
        RouterLogits = new float[tokens * c.NumExperts];
        ChosenExperts = new int[tokens * c.NumExpertsPerToken];
        ChosenWeights = new float[tokens * c.NumExpertsPerToken];
        Logits = new float[Math.Min(tokens, LogitRowsPerPass) * c.VocabSize];
        Experts.EnsureCapacity(tokens);
        Capacity = tokens;
    }

    /// <summary>Positions one head's row of <see cref="Scores"/> holds.</summary>
    public int ScoreStride { get; private set; }

    /// <summary>
    /// Makes room in <see cref="Scores"/> for attention over <paramref name="positions"/> positions: the capacity of
    /// the largest cache attended to, so the scores grow when, and as, the caches do (<see cref="KvCache.EnsureCapacity"/>).
    /// </summary>
    public void EnsureScores(int positions)
    {
        if (positions <= ScoreStride) return;
        ScoreStride = positions;
        Scores = new float[_config.NumAttentionHeads * ScoreStride];
    }
}
