using OlmoeSharp.Model;

namespace OlmoeSharp.Tests.Model;

/// <summary>How the KV cache grows: keeping what it holds, and without doubling far past a long prompt.</summary>
public sealed class KvCacheTests
{
    [Fact]
    public void Growth_keeps_stored_positions_and_fits_a_long_prompt_without_doubling_past_it()
    {
        var cache = new KvCache(layers: 2, kvHeads: 2, headDim: 4, maxPositions: 4096, initialPositions: 64);
        float[] keys = [1, 2, 3, 4, 5, 6, 7, 8], values = [-1, -2, -3, -4, -5, -6, -7, -8];
        cache.Store(1, 10, keys, values);

        cache.EnsureCapacity(1040); // a 1040-token prompt: its length rounded up to 64, not 2048
        Assert.Equal(1088, cache.Capacity);
        cache.EnsureCapacity(1089); // then decoding past it: doubling
        Assert.Equal(2176, cache.Capacity);
        cache.EnsureCapacity(4000); // never beyond the context
        Assert.Equal(4096, cache.Capacity);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.EnsureCapacity(4097));

        for (int head = 0; head < 2; head++)
        {
            Assert.Equal(keys.AsSpan(head * 4, 4), cache.Keys(1).AsSpan(head * cache.HeadStride + 10 * 4, 4));
            Assert.Equal(values.AsSpan(head * 4, 4), cache.Values(1).AsSpan(head * cache.HeadStride + 10 * 4, 4));
        }
    }
}
