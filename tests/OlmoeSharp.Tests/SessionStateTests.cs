using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Hashing;
using OlmoeSharp.Checkpoints;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests;

/// <summary>
/// <see cref="InferenceSession.SaveState"/> and <see cref="OlmoeModel.LoadSession"/>: a restored session continues
/// exactly as the saved one, and every kind of bad state — another model, truncated, corrupted, a future version,
/// lying counts — is refused with a <see cref="ModelFormatException"/>, quickly and without large allocations.
/// </summary>
public sealed class SessionStateTests(TinyModelFixture fixture) : IClassFixture<TinyModelFixture>
{
    private static readonly int[] Prompt = [.. Enumerable.Range(0, 40).Select(i => (i * 131 + 7) % 50000)];

    private byte[] SavedState(OlmoeModel? model = null)
    {
        var session = (model ?? fixture.Model).CreateSession();
        session.Evaluate(Prompt, Span<float>.Empty);
        using var stream = new MemoryStream();
        session.SaveState(stream);
        return stream.ToArray();
    }

    private static float[] Continue(InferenceSession session, int steps, out List<int> greedy)
    {
        int vocab = session.Model.Config.VocabSize;
        var rows = new float[3 * vocab];
        session.Evaluate([11, 12, 13], rows);
        greedy = [];
        var logits = rows.AsSpan(2 * vocab).ToArray();
        for (int i = 0; i < steps; i++)
        {
            int next = ArgMax(logits);
            greedy.Add(next);
            session.Evaluate([next], logits);
        }
        return rows;
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    [Theory]
    [InlineData(KvCachePrecision.Float32)]
    [InlineData(KvCachePrecision.BFloat16)]
    public void A_restored_session_continues_exactly_as_the_saved_one(KvCachePrecision precision)
    {
        using var model = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { KvCache = precision });
        var original = model.CreateSession();
        original.Evaluate(Prompt, Span<float>.Empty);
        using var stream = new MemoryStream();
        original.SaveState(stream);
        Assert.Equal(72 + Prompt.Length * original.StateBytesPerToken, stream.Length);
        int elementBytes = precision == KvCachePrecision.Float32 ? 4 : 2;
        var c = model.Config;
        Assert.Equal(4 + (long)c.NumHiddenLayers * 2 * c.NumKeyValueHeads * c.HeadDim * elementBytes, original.StateBytesPerToken);

        stream.Position = 0;
        var restored = model.LoadSession(stream);
        Assert.Equal(original.Position, restored.Position);
        Assert.Equal(Prompt, restored.Tokens.ToArray());

        var expected = Continue(original, 8, out var expectedTokens);
        var actual = Continue(restored, 8, out var actualTokens);
        Assert.Equal(expected, actual);
        Assert.Equal(expectedTokens, actualTokens);
    }

    [Fact]
    public void An_empty_session_round_trips_and_a_state_loads_into_another_residency_of_the_same_weights()
    {
        using var empty = new MemoryStream();
        fixture.Model.CreateSession().SaveState(empty);
        empty.Position = 0;
        Assert.Equal(0, fixture.Model.LoadSession(empty).Position);

        using var preloaded = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { Residency = WeightResidency.Preloaded });
        var restored = preloaded.LoadSession(new MemoryStream(SavedState()));
        var reference = preloaded.CreateSession();
        reference.Evaluate(Prompt, Span<float>.Empty);
        Assert.Equal(Continue(reference, 4, out var a), Continue(restored, 4, out var b));
        Assert.Equal(a, b);
    }

    [Fact]
    public void A_state_of_another_model_is_refused()
    {
        using var directory = new TempDirectory();
        RandomCheckpoint.Write(directory.Path, RandomCheckpoint.Tiny, new RandomCheckpointOptions { Seed = 100 });
        using (var otherWeights = OlmoeModel.Load(directory.Path))
        {
            var error = Refused(SavedState(otherWeights));
            Assert.Equal("weights fingerprint", error.Item);
        }

        using var otherConfig = new TempDirectory();
        RandomCheckpoint.Write(otherConfig.Path, RandomCheckpoint.Tiny with { MaxPositionEmbeddings = 256 }, new RandomCheckpointOptions { Seed = 99 });
        using (var model = OlmoeModel.Load(otherConfig.Path))
            Assert.Equal("config", Refused(SavedState(model)).Item);

        using var bf16 = OlmoeModel.Load(fixture.Directory, new ModelLoadOptions { KvCache = KvCachePrecision.BFloat16 });
        Assert.Equal("precision", Refused(SavedState(bf16)).Item);
    }

    [Fact]
    public void A_truncated_state_is_refused_at_every_kind_of_cut_from_seekable_and_unseekable_streams()
    {
        byte[] state = SavedState();
        int[] cuts = [0, 1, 7, 8, 12, 40, 56, 63, 64, 65, 64 + 4 * Prompt.Length - 1, 64 + 4 * Prompt.Length, state.Length / 2, state.Length - 9, state.Length - 8, state.Length - 1];
        foreach (int cut in cuts)
        {
            var seekable = Refused(state[..cut]);
            Assert.Contains("truncated", seekable.Message);
            var unseekable = Assert.Throws<ModelFormatException>(() => fixture.Model.LoadSession(new ForwardOnlyStream(state[..cut])));
            Assert.Contains("truncated", unseekable.Message);
        }
    }

    [Fact]
    public void A_flipped_byte_anywhere_is_refused()
    {
        byte[] state = SavedState();
        var random = new Random(3);
        var offsets = Enumerable.Range(0, 64).Concat(Enumerable.Range(0, 200).Select(_ => random.Next(64, state.Length))).Append(state.Length - 1);
        foreach (int offset in offsets)
        {
            byte[] corrupted = (byte[])state.Clone();
            corrupted[offset] ^= (byte)(1 << (offset % 8));
            Refused(corrupted);
        }
        Assert.Equal("checksum", Refused(Flip(state, 64 + 4 * Prompt.Length + 100)).Item);
        Assert.Equal("checksum", Refused(Flip(state, 64 + 3)).Item); // a token id
        Assert.Equal("header checksum", Refused(Flip(state, 40)).Item);
        Assert.Equal("magic", Refused(Flip(state, 2)).Item);
    }

    [Fact]
    public void A_future_version_is_refused_by_name()
    {
        byte[] state = SavedState();
        var error = Refused(WithHeader(state, h => BinaryPrimitives.WriteUInt32LittleEndian(h[8..], 2)));
        Assert.Equal("version", error.Item);
        Assert.Contains("newer", error.Message);
    }

    [Fact]
    public void Lying_counts_are_refused_before_allocating_and_quickly()
    {
        byte[] state = SavedState();
        int context = fixture.Model.Config.MaxPositionEmbeddings;
        foreach (int positions in new[] { -1, context + 1, int.MaxValue })
            Assert.Equal("positions", Refused(WithHeader(state, h => BinaryPrimitives.WriteInt32LittleEndian(h[52..], positions))).Item);

        // Within the context but more than the stream holds: refused from the stream's length, nothing allocated for it.
        byte[] longer = WithHeader(state, h => BinaryPrimitives.WriteInt32LittleEndian(h[52..], context));
        fixture.Model.LoadSession(new MemoryStream(state)); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Assert.Equal("length", Refused(longer).Item);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024, "allocated for a lying count");
        Assert.True(clock.ElapsedMilliseconds < 1000);

        // A forged state with a valid checksum but a token outside the vocabulary.
        byte[] forged = (byte[])state.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(forged.AsSpan(64), fixture.Model.Config.VocabSize);
        BinaryPrimitives.WriteUInt64LittleEndian(forged.AsSpan(forged.Length - 8), XxHash3.HashToUInt64(forged.AsSpan(0, forged.Length - 8)));
        Assert.Equal("tokens", Refused(forged).Item);

        Assert.Equal("magic", Refused(new byte[500]).Item);
    }

    private ModelFormatException Refused(byte[] state)
    {
        var error = Assert.Throws<ModelFormatException>(() => fixture.Model.LoadSession(new MemoryStream(state)));
        Assert.StartsWith("session state", error.Message);
        return error;
    }

    private static byte[] Flip(byte[] state, int offset)
    {
        byte[] copy = (byte[])state.Clone();
        copy[offset] ^= 0x10;
        return copy;
    }

    /// <summary>The state with its header edited and the header checksum recomputed, so the edit itself is what is checked.</summary>
    private static byte[] WithHeader(byte[] state, Action<Span<byte>> edit)
    {
        byte[] copy = (byte[])state.Clone();
        edit(copy.AsSpan(0, 64));
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(56), XxHash3.HashToUInt64(copy.AsSpan(0, 56)));
        return copy;
    }

    /// <summary>A stream that cannot seek or tell its length (a socket, a pipe).</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 1000));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
