using System.Numerics.Tensors;

namespace OlmoeSharp.Scoring;

/// <summary>
/// The numerically stable log-softmax of one row of logits, as llama.cpp's perplexity tool computes it:
/// log p_i = (x_i − max) − log Σ_j exp(x_j − max), the exponentials taken in float32 and summed in double.
/// Subtracting the maximum first keeps every exponential in (0, 1], so no logit overflows or underflows the sum.
/// </summary>
internal static class LogSoftmax
{
    /// <summary>The row's maximum and log Σ exp(x − max); <paramref name="scratch"/> (at least as long as the row) is overwritten.</summary>
    public static (float Max, double LogSum) Normalizer(ReadOnlySpan<float> row, Span<float> scratch)
    {
        float max = TensorPrimitives.Max(row);
        var shifted = scratch[..row.Length];
        TensorPrimitives.Subtract(row, max, shifted);
        TensorPrimitives.Exp(shifted, shifted);
        double sum = 0;
        foreach (float e in shifted) sum += e;
        return (max, Math.Log(sum));
    }

    /// <summary>log p of a logit of the row <see cref="Normalizer"/> was computed for.</summary>
    public static double Of(float logit, float max, double logSum) => (logit - max) - logSum;

    /// <summary>The tokens <paramref name="top"/> names with their log p, into <paramref name="destination"/> (as long as <paramref name="top"/>).</summary>
    public static void Alternatives(ReadOnlySpan<float> row, ReadOnlySpan<int> top, float max, double logSum, Span<TokenAlternative> destination)
    {
        for (int j = 0; j < top.Length; j++)
            destination[j] = new TokenAlternative(top[j], (float)Of(row[top[j]], max, logSum));
    }

    /// <summary>
    /// How many entries rank above <paramref name="index"/>: larger values, and equal values at lower indices (so 0 is
    /// the argmax with the lowest index winning ties).
    /// </summary>
    public static int Rank(ReadOnlySpan<float> row, int index)
    {
        float value = row[index];
        int above = 0;
        for (int i = 0; i < row.Length; i++)
            if (row[i] > value || (row[i] == value && i < index)) above++;
        return above;
    }

    /// <summary>
    /// Indices of the <c>k = indices.Length</c> largest values, largest first, the lowest index first among equal
    /// values. Small k: one pass keeping a sorted list of k (O(n·k) worst case, O(n) typically); large k: a sort of
    /// n keys in <paramref name="sortKeys"/>, allocated on first use.
    /// </summary>
    public static void TopK(ReadOnlySpan<float> row, Span<int> indices, ref ulong[]? sortKeys)
    {
        int k = indices.Length;
        if (k == 0) return;
        if (k > row.Length) throw new ArgumentException("k exceeds the row.", nameof(indices));
        if (k <= 64)
        {
            int filled = 0;
            for (int i = 0; i < row.Length; i++)
            {
                float v = row[i];
                int slot;
                if (filled == k)
                {
                    if (!(v > row[indices[k - 1]])) continue; // equal values keep the earlier index
                    slot = k - 1;
                }
                else
                {
                    slot = filled++;
                }
                while (slot > 0 && v > row[indices[slot - 1]])
                {
                    indices[slot] = indices[slot - 1];
                    slot--;
                }
                indices[slot] = i;
            }
            return;
        }
        // Sort (value descending, index ascending) as one 64-bit key: the float's bits mapped to an order-preserving
        // unsigned integer and inverted, then the index.
        sortKeys ??= new ulong[row.Length];
        var keys = sortKeys.AsSpan(0, row.Length);
        for (int i = 0; i < row.Length; i++)
        {
            float v = row[i] == 0 ? 0f : row[i]; // −0 ranks with +0
            uint bits = BitConverter.SingleToUInt32Bits(v);
            uint ascending = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
            keys[i] = ((ulong)~ascending << 32) | (uint)i;
        }
        keys.Sort();
        for (int i = 0; i < k; i++) indices[i] = (int)(uint)keys[i];
    }
}
