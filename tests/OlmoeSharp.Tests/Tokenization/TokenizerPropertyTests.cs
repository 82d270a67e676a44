using OlmoeSharp.Tokenization;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tests.Tokenization;

public sealed class TokenizerPropertyTests
{
    private static OlmoeTokenizer Tokenizer => TokenizerFixture.Tokenizer;

    [Fact]
    public void Decode_of_encode_is_the_NFC_form_of_the_text()
    {
        var random = new Random(20240903);
        for (int i = 0; i < 3_000; i++)
        {
            string text = RandomText.Next(random, 24);
            var ids = Tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, Tokenizer.VocabularySize - 1));
            Assert.Equal(Nfc.Normalize(text), Tokenizer.Decode([.. ids]));
        }
    }

    [Fact]
    public void Special_token_text_becomes_the_special_token_and_splits_normalization()
    {
        // Special tokens are cut out of the raw text before NFC, so a mark after one cannot compose onto its '>'.
        var ids = Tokenizer.Encode("a<|endoftext|>\u0338<|padding|>");

        Assert.Equal(Tokenizer.EndOfTextId, ids[1]);
        Assert.Equal(Tokenizer.PaddingId, ids[^1]);
        Assert.Equal("a<|endoftext|>\u0338<|padding|>", Tokenizer.Decode([.. ids]));
        Assert.Equal("a\u0338", Tokenizer.Decode([.. ids], skipSpecialTokens: true));
    }

    [Fact]
    public void Streaming_decode_equals_one_shot_decode_for_every_prefix_of_encoded_text()
    {
        var random = new Random(11);
        for (int i = 0; i < 300; i++)
        {
            int[] ids = [.. Tokenizer.Encode(RandomText.Next(random, 12))];
            CheckEveryPrefix(ids, skipSpecialTokens: false);
        }
    }

    [Fact]
    public void Streaming_decode_equals_one_shot_decode_for_random_ids_including_invalid_utf8()
    {
        // Random ids from the byte tokens, multi-byte fragments, specials, space runs and unused rows make every kind
        // of broken and completed UTF-8 sequence.
        var random = new Random(12);
        for (int i = 0; i < 2_000; i++)
        {
            var ids = new int[random.Next(1, 16)];
            for (int j = 0; j < ids.Length; j++)
            {
                ids[j] = random.Next(6) switch
                {
                    0 => random.Next(0, 256),
                    1 => random.Next(50250, 50304),
                    2 => random.Next(0, 2),
                    _ => random.Next(0, 50280),
                };
            }

            CheckEveryPrefix(ids, skipSpecialTokens: false);
            CheckEveryPrefix(ids, skipSpecialTokens: true);
        }
    }

    [Theory]
    [InlineData("a\uD800b")]
    [InlineData("\uDC00")]
    [InlineData("end\uD83D")]
    [InlineData("\uDE00\uD83D")]
    [InlineData("<|endoftext|>\uD800  x")]
    public void Lone_surrogates_are_encoded_as_replacement_characters(string text)
    {
        var expected = Tokenizer.Encode(text.Replace('\uD800', '\uFFFD').Replace('\uDC00', '\uFFFD')
            .Replace('\uD83D', '\uFFFD').Replace('\uDE00', '\uFFFD'));

        Assert.Equal(expected, Tokenizer.Encode(text));
    }

    [Fact]
    public void Surrogate_pairs_are_kept()
    {
        Assert.Equal("\U0001F600's", Tokenizer.Decode([.. Tokenizer.Encode("\U0001F600's")]));
    }

    [Fact]
    public void Concurrent_encoding_gives_the_same_ids_as_sequential_encoding()
    {
        var random = new Random(5);
        var texts = Enumerable.Range(0, 400).Select(_ => RandomText.Next(random, 30)).ToArray();
        var expected = texts.Select(t => Tokenizer.Encode(t).ToArray()).ToArray();

        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => actual[i] = [.. Tokenizer.Encode(texts[i])]);

        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// For every prefix of <paramref name="ids"/>: the streamed text plus the flush equals the one-shot decode, and
    /// what is streamed before the flush is that decode minus at most one held-back (incomplete) character.
    /// </summary>
    private static void CheckEveryPrefix(int[] ids, bool skipSpecialTokens)
    {
        for (int length = 0; length <= ids.Length; length++)
        {
            var decoder = Tokenizer.CreateStreamingDecoder(skipSpecialTokens);
            string streamed = string.Concat(ids.Take(length).Select(decoder.Append));
            string flushed = decoder.Flush();
            string expected = Tokenizer.Decode(ids.AsSpan(0, length), skipSpecialTokens);

            Assert.Equal(expected, streamed + flushed);
            Assert.True(flushed is "" or "\uFFFD", $"flush returned {flushed.Length} characters");
            Assert.Equal("", decoder.Flush());
        }
    }
}
