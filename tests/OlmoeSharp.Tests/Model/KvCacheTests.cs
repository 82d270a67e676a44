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

    [Fact]
    public void A_bf16_cache_stores_rounded_values_and_keeps_them_through_growth()
    {
        var cache = new KvCache(layers: 1, kvHeads: 2, headDim: 4, maxPositions: 512, initialPositions: 64, KvCachePrecision.BFloat16);
        float[] keys = [1.001f, -2, 3, 1e-3f, 5, 6, 7, 8], values = [0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, -0.8f];
        cache.Store(0, 63, keys, values);
        cache.EnsureCapacity(65);
        Assert.Equal(128, cache.Capacity);
        for (int head = 0; head < 2; head++)
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(OlmoeSharp.Tensors.BFloat16Kernels.FromSingle(keys[head * 4 + i]), cache.Keys16(0)[head * cache.HeadStride + 63 * 4 + i]);
                Assert.Equal(OlmoeSharp.Tensors.BFloat16Kernels.FromSingle(values[head * 4 + i]), cache.Values16(0)[head * cache.HeadStride + 63 * 4 + i]);
            }
    }

    [Theory]
    [InlineData(KvCachePrecision.Float32)]
    [InlineData(KvCachePrecision.BFloat16)]
    public void A_prefix_copies_into_another_cache_and_head_bytes_are_each_heads_positions(KvCachePrecision precision)
    {
        var source = new KvCache(layers: 2, kvHeads: 2, headDim: 4, maxPositions: 512, initialPositions: 64, precision);
        var target = new KvCache(layers: 2, kvHeads: 2, headDim: 4, maxPositions: 512, initialPositions: 64, precision);
        source.EnsureCapacity(100);
        for (int p = 0; p < 100; p++)
            for (int l = 0; l < 2; l++)
                source.Store(l, p, [.. Enumerable.Range(0, 8).Select(i => p + l * 0.5f + i)], [.. Enumerable.Range(0, 8).Select(i => -p - i * 0.25f)]);
        target.CopyPrefixFrom(source, 90);
        Assert.True(target.Capacity >= 90);
        int element = precision == KvCachePrecision.Float32 ? 4 : 2;
        Assert.Equal(2L * 2 * 2 * 4 * element, source.BytesPerPosition);
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 2; h++)
            {
                Assert.Equal(90 * 4 * element, target.HeadBytes(l, h, values: false, 90).Length);
                Assert.True(source.HeadBytes(l, h, values: false, 90).SequenceEqual(target.HeadBytes(l, h, values: false, 90)));
                Assert.True(source.HeadBytes(l, h, values: true, 90).SequenceEqual(target.HeadBytes(l, h, values: true, 90)));
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => { source.HeadBytes(0, 0, false, source.Capacity + 1); });
        Assert.Throws<ArgumentException>(() => new KvCache(1, 2, 4, 512).CopyPrefixFrom(source, 1));
    }
}
