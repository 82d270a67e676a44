namespace OlmoeSharp.Tensors;

/// <summary>
/// Rotary position embedding in the rotate-half ("NeoX") layout: dimension i pairs with i + headDim/2.
/// The angles are computed in float32 exactly as the reference does (inv_freq = 1/θ^(2i/d), angle = p·inv_freq).
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly float[] _inverseFrequencies;

    public RotaryEmbedding(int headDim, float theta)
    {
        if (headDim <= 0 || headDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(headDim), "head_dim must be even and positive.");
        HeadDim = headDim;
        _inverseFrequencies = new float[headDim / 2];
        for (int i = 0; i < _inverseFrequencies.Length; i++)
            _inverseFrequencies[i] = 1f / MathF.Pow(theta, 2 * i / (float)headDim);
    }

    public int HeadDim { get; }

    /// <summary>Fills cos/sin (length headDim/2) for <paramref name="position"/>.</summary>
    public void Angles(int position, Span<float> cos, Span<float> sin)
    {
        for (int i = 0; i < _inverseFrequencies.Length; i++)
        {
            float angle = position * _inverseFrequencies[i];
            cos[i] = MathF.Cos(angle);
            sin[i] = MathF.Sin(angle);
        }
    }

    /// <summary>Rotates every head of <paramref name="heads"/> (concatenated, headDim each) in place.</summary>
    public static void Apply(Span<float> heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = headDim / 2;
        for (int offset = 0; offset < heads.Length; offset += headDim)
        {
            var head = heads.Slice(offset, headDim);
            for (int i = 0; i < half; i++)
            {
                float a = head[i], b = head[i + half];
                head[i] = a * cos[i] - b * sin[i];
                head[i + half] = b * cos[i] + a * sin[i];
            }
        }
    }
}
