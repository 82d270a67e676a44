using System.Text;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>Properties that hold for any text: round trip through NFC, streaming equals one-shot decode, no crash on lone surrogates.</summary>
public sealed class TokenizerPropertyTests
{
    private static OlmoeTokenizer Tokenizer => TokenizerCaseTests.Tokenizer.Value;

    /// <summary>
    /// Random strings mixing every plane, combining marks, whitespace runs and added-token text. The special tokens
    /// (&lt;|endoftext|&gt;, &lt;|padding|&gt;) are cut out before normalisation, as the reference does, so a
    /// combining mark right after one does not compose with its '&gt;'; they are tested separately below.
    /// </summary>
    private static string RandomText(Random random, bool withSpecialTokens = false)
    {
        string[] pieces = ["  ", "    ", "\n", "\t", " ", "|||EMAIL_ADDRESS|||", "|||IP_ADDRESS|||", "'s", "'ll", "e\u0301", "\u1100\u1161\u11A8", "A\u030A", "\u212B"];
        var builder = new StringBuilder();
        int length = random.Next(0, 40);
        for (int i = 0; i < length; i++)
        {
            if (withSpecialTokens && random.Next(8) == 0) builder.Append(random.Next(2) == 0 ? "<|endoftext|>" : "<|padding|>");
            switch (random.Next(6))
            {
                case 0: builder.Append(pieces[random.Next(pieces.Length)]); break;
                case 1: builder.Append((char)random.Next(0x20, 0x7F)); break;
                case 2: builder.Append((char)random.Next(0x300, 0x370)); break; // combining marks
                case 3: builder.Append(char.ConvertFromUtf32(random.Next(0x10000, 0x10FFFF) is var cp && Rune.IsValid(cp) ? cp : 0x1F600)); break;
                default:
                    int bmp = random.Next(0xA0, 0xFFFE);
                    builder.Append(char.IsSurrogate((char)bmp) ? 'x' : (char)bmp);
                    break;
            }
        }
        return builder.ToString();
    }

    [Fact]
    public void Decoding_an_encoding_gives_back_the_nfc_text()
    {
        var random = new Random(2024);
        for (int i = 0; i < 3000; i++)
        {
            string text = RandomText(random);
            Assert.Equal(NfcNormalizer.Normalize(text), Tokenizer.Decode(Tokenizer.Encode(text)));
        }
    }

    [Fact]
    public void Streaming_decode_equals_one_shot_decode_for_every_prefix()
    {
        var random = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            var ids = Tokenizer.Encode(RandomText(random, withSpecialTokens: true));
            // Also splice in random byte tokens so sequences break inside UTF-8 characters.
            var mixed = ids.Concat(Enumerable.Range(0, random.Next(4)).Select(_ => random.Next(0, 256))).ToArray();
            foreach (bool skip in new[] { false, true })
                for (int prefix = 0; prefix <= mixed.Length; prefix++)
                {
                    var decoder = Tokenizer.CreateStreamingDecoder(skip);
                    var streamed = new StringBuilder();
                    foreach (int id in mixed.AsSpan(0, prefix)) streamed.Append(decoder.Append(id));
                    streamed.Append(decoder.Flush());
                    Assert.Equal(Tokenizer.Decode(mixed.AsSpan(0, prefix), skip), streamed.ToString());
                }
        }
    }

    [Fact]
    public void Streaming_never_emits_half_a_character()
    {
        var ids = Tokenizer.Encode("héllo 🧑🏿‍💻 世界");
        var decoder = Tokenizer.CreateStreamingDecoder();
        foreach (int id in ids)
        {
            string piece = decoder.Append(id);
            Assert.DoesNotContain('\uFFFD', piece);
            if (piece.Length > 0) Assert.False(char.IsHighSurrogate(piece[^1]));
        }
        Assert.Equal("", decoder.Flush());
    }

    [Theory]
    [InlineData("abc\uD800def")]
    [InlineData("\uDC00")]
    [InlineData("x\uDBFF")]
    public void Lone_surrogates_are_encoded_as_the_replacement_character(string text)
        => Assert.Equal(Tokenizer.Encode(text.Replace('\uD800', '\uFFFD').Replace('\uDC00', '\uFFFD').Replace('\uDBFF', '\uFFFD')), Tokenizer.Encode(text));

    [Fact]
    public void A_long_run_of_one_character_encodes_in_bounded_time()
    {
        var ids = Tokenizer.Encode(new string('a', 200_000));
        Assert.Equal(new string('a', 200_000), Tokenizer.Decode(ids));
    }

    [Fact]
    public void A_combining_mark_after_a_special_token_is_normalised_on_its_own()
        => Assert.Equal("<|padding|>\u0338x", Tokenizer.Decode(Tokenizer.Encode("<|padding|>\u0338x")));

    [Fact]
    public void Special_token_text_in_input_becomes_the_special_token_and_skip_drops_only_pad_and_eos()
    {
        var ids = Tokenizer.Encode("a<|endoftext|>b<|padding|>  c");
        Assert.Contains(Tokenizer.EndOfTextId, ids);
        Assert.Contains(Tokenizer.PaddingId, ids);
        Assert.Equal("ab  c", Tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(50279, Tokenizer.EndOfTextId);
        Assert.Equal(1, Tokenizer.PaddingId);
        Assert.Equal(50280, Tokenizer.VocabularySize);
        Assert.Equal("", Tokenizer.Decode([50280, 50303]));
    }
}
