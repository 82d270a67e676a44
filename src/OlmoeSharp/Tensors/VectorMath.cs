using System.Numerics.Tensors;

namespace OlmoeSharp.Tensors;

/// <summary>Small float32 vector operations of the forward pass: RMSNorm, a stable softmax, top-k, clamping, SwiGLU.</summary>
internal static class VectorMath
{
    /// <summary>dst = weight ⊙ x / sqrt(mean(x²) + eps). dst may alias x.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> dst)
    {
        if (weight.Length != x.Length || dst.Length < x.Length) throw new ArgumentException("RmsNorm: length mismatch.");
        float meanSquare = TensorPrimitives.Dot(x, x) / x.Length;
        float scale = 1f / MathF.Sqrt(meanSquare + eps);
        TensorPrimitives.Multiply(x, scale, dst);
        TensorPrimitives.Multiply(dst[..x.Length], weight, dst);
    }

    /// <summary>
    /// In-place softmax that subtracts the maximum first, so large logits cannot overflow
    /// (TensorPrimitives.SoftMax does not, and returns NaN on [1000, 1000]).
    /// </summary>
    public static void SoftmaxInPlace(Span<float> values)
    {
        float max = TensorPrimitives.Max(values);
        TensorPrimitives.Subtract(values, max, values);
        TensorPrimitives.Exp(values, values);
        float sum = TensorPrimitives.Sum(values);
        TensorPrimitives.Divide(values, sum, values);
    }

    /// <summary>
    /// Indices of the k largest values, largest first; among equal values the lowest index wins (as torch.topk
    /// does on CPU for the router). O(n·k), which is what a 64-expert router needs.
    /// </summary>
    public static void TopK(ReadOnlySpan<float> values, Span<int> indices)
    {
        int k = indices.Length;
        if (k > values.Length) throw new ArgumentException("k exceeds the number of values.", nameof(indices));
        for (int slot = 0; slot < k; slot++)
        {
            int best = -1;
            for (int i = 0; i < values.Length; i++)
            {
                if (indices[..slot].Contains(i)) continue;
                if (best < 0 || values[i] > values[best]) best = i;
            }
            indices[slot] = best;
        }
    }

    /// <summary>Clamps every value to [-limit, limit].</summary>
    public static void Clamp(Span<float> values, float limit) =>
        TensorPrimitives.Clamp(values, -limit, limit, values);

    /// <summary>
    /// The SwiGLU activation in place: gate[i] = silu(gate[i])·up[i] = sigmoid(g)·(g·u), vectorised;
    /// <paramref name="up"/> is overwritten (with g·u).
    /// </summary>
    public static void SwiGlu(Span<float> gate, Span<float> up)
    {
        if (up.Length != gate.Length) throw new ArgumentException("SwiGlu: gate and up differ in length.", nameof(up));
        TensorPrimitives.Multiply(up, gate, up);
        TensorPrimitives.Sigmoid(gate, gate);
        TensorPrimitives.Multiply(gate, up, gate);
    }
}
