using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using OlmoeSharp.Tokenization;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tests.Tokenization;

/// <summary>
/// <see cref="OlmoeTokenizer"/> used as what .NET code takes, a Microsoft.ML.Tokenizers <see cref="Tokenizer"/>:
/// the reference cases through the base type, the offsets of EncodeToTokens, and the contracts of
/// GetIndexByTokenCount / GetIndexByTokenCountFromEnd checked against a brute-force search on random text.
/// </summary>
public sealed class MLTokenizersTests
{
    private static readonly string[] Fragments =
    [
        "<|endoftext|>", "<|padding|>", "<|endoftext|>\u0338", "<|endoftext", "|>", "'s", "'''s", "'re", " 's", "don't",
        "Hello", " world", "Crème brûlée", "Cre\u0300me bru\u0302le\u0301e", "e\u0301\u0331", "a\u0323\u0302", "中文字符",
        "日本語のテキスト", "\U0001F600", "\U0001F9D1\U0001F3FF\u200D\U0001F4BB", " \U0001F680", "\n\n", "\t\t ", "  ", "     ",
        "\r\n", " \n ", "x  \n\ny", "|||IP_ADDRESS|||", "\u1100\u1161\u11A8", "\uAC00\u11A8", "ǅ", "Å", "\u212B", "123 4567",
    ];

    private static OlmoeTokenizer Olmoe => TokenizerFixture.Tokenizer;

    // What callers hold: the abstraction.
    private static Tokenizer Base => TokenizerFixture.Tokenizer;

    public static TheoryData<int> EncodeCases => LineNumbers("public-cases.jsonl");

    public static TheoryData<int> DecodeCases => LineNumbers("public-decode-cases.jsonl");

    /// <summary>The three ways of encoding: as the reference does, without NFC, and without pre-tokenization.</summary>
    public static TheoryData<bool, bool> Modes => new() { { true, true }, { false, true }, { true, false } };

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void Public_cases_encode_and_decode_through_the_base_type(int line)
    {
        using var testCase = Read("public-cases.jsonl", line);
        var root = testCase.RootElement;
        string text = root.GetProperty("text").GetString()!;
        int[] expected = [.. root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];

        Assert.Equal(expected, Base.EncodeToIds(text));
        Assert.Equal(expected, Base.EncodeToIds(text.AsSpan()));
        Assert.Equal(expected.Length, Base.CountTokens(text));
        Assert.Equal(expected.Length, Base.CountTokens(text.AsSpan()));
        var tokens = Base.EncodeToTokens(text, out string? normalized);
        Assert.Null(normalized);
        Assert.Equal(expected, tokens.Select(t => t.Id));
        CheckOffsets(text, tokens, normalize: true);
        Assert.Equal(root.GetProperty("decode").GetString(), Base.Decode(expected));
        CheckSpanDecode(expected);
    }

    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void Public_decode_cases_decode_through_the_base_type(int line)
    {
        using var testCase = Read("public-decode-cases.jsonl", line);
        var root = testCase.RootElement;
        int[] ids = [.. root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];

        Assert.Equal(root.GetProperty("decode").GetString(), Base.Decode(ids));
        Assert.Equal(root.GetProperty("decode").GetString(), Base.Decode(ids.ToList()));
        Assert.Equal(root.GetProperty("decode").GetString(), Base.Decode(ids.Select(id => id)));
        CheckSpanDecode(ids);
    }

    [Fact]
    public void Every_reference_case_encodes_the_same_through_the_base_type()
    {
        var failures = new List<string>();
        int count = 0;
        foreach (string line in ReferenceLines())
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (!root.TryGetProperty("text", out var textElement)) continue;
            string text = textElement.GetString()!;
            int[] expected = [.. root.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
            count++;
            var tokens = Base.EncodeToTokens(text, out _);
            int[] ids = [.. Base.EncodeToIds(text)];
            if (!ids.SequenceEqual(expected) || !tokens.Select(t => t.Id).SequenceEqual(expected) || Base.CountTokens(text) != expected.Length)
            {
                failures.Add(JsonSerializer.Serialize(text));
                continue;
            }
            CheckCover(text, tokens);
            Assert.Equal(Utf8(Olmoe.Normalizer!.Normalize(text)), Bytes(expected));
        }

        Assert.True(count > 10_000, $"only {count} reference encode cases read");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} differ; first: {string.Join(" | ", failures.Take(5))}");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Offsets_cover_the_text_in_order_on_random_text(bool normalize, bool preTokenize)
    {
        var random = new Random(18);
        for (int i = 0; i < 400; i++)
        {
            string text = NextText(random);
            var tokens = Base.EncodeToTokens(text, out string? normalized, preTokenize, normalize);
            Assert.Null(normalized);
            Assert.Equal(Base.EncodeToIds(text, preTokenize, normalize), tokens.Select(t => t.Id));
            CheckOffsets(text, tokens, normalize, preTokenize);
        }
    }

    [Fact]
    public void A_character_split_between_tokens_belongs_to_the_token_that_completes_it()
    {
        // 🤗 (U+1F917, a surrogate pair) is F0 9F A4 97 in UTF-8: BPE makes three tokens of it.
        var tokens = Base.EncodeToTokens("a\U0001F917b", out _);

        Assert.Equal(["a", "ðŁ", "¤", "Ĺ", "b"], tokens.Select(t => t.Value));
        Assert.Equal([new Range(0, 1), new Range(1, 1), new Range(1, 1), new Range(1, 3), new Range(3, 4)], tokens.Select(t => t.Offset));
    }

    [Fact]
    public void Offsets_are_in_the_text_as_given_where_NFC_changes_it()
    {
        // "e" + COMBINING ACUTE ACCENT is "é" after NFC, one character for two.
        const string text = "Cre\u0301me <|endoftext|> e\u0301";
        var tokens = Base.EncodeToTokens(text, out string? normalized);

        Assert.Null(normalized);
        Assert.Equal(Base.EncodeToIds("Cr\u00E9me <|endoftext|> \u00E9"), tokens.Select(t => t.Id));
        Assert.Equal(["Cr", "e\u0301", "me", " ", "<|endoftext|>", " e\u0301"], tokens.Select(t => text[t.Offset]));
        CheckOffsets(text, tokens, normalize: true);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void GetIndexByTokenCount_keeps_the_most_whole_tokens_that_encode_alone_as_the_prefix(bool normalize, bool preTokenize)
    {
        var random = new Random(1800 + (normalize ? 1 : 0) + (preTokenize ? 2 : 0));
        int cutShort = 0; // cuts that kept fewer tokens than the maximum though more were there
        for (int i = 0; i < 250; i++)
        {
            string text = NextText(random);
            int[] all = [.. Base.EncodeToIds(text, preTokenize, normalize)];
            foreach (int max in MaxCounts(random, all.Length))
            {
                int index = Base.GetIndexByTokenCount(text, max, out string? normalized, out int count, preTokenize, normalize);
                string context = $"text {JsonSerializer.Serialize(text)}, max {max}: index {index}, count {count}";

                Assert.Null(normalized);
                Assert.InRange(count, 0, Math.Min(max, all.Length));
                Assert.InRange(index, 0, text.Length);
                Assert.False(SplitsSurrogatePair(text, index), context);
                Assert.True(all.AsSpan(0, count).SequenceEqual([.. Base.EncodeToIds(text[..index], preTokenize, normalize)]), context);
                if (all.Length <= max) Assert.Equal((text.Length, all.Length), (index, count));

                // No longer prefix of the text encodes to a longer prefix of the ids within the maximum.
                for (int end = index + 1; end <= text.Length; end++)
                {
                    if (SplitsSurrogatePair(text, end)) continue;
                    var ids = Base.EncodeToIds(text[..end], preTokenize, normalize);
                    bool better = ids.Count > count && ids.Count <= max && all.AsSpan(0, ids.Count).SequenceEqual([.. ids]);
                    Assert.False(better, $"{context}; text[..{end}] encodes to the first {ids.Count} ids");
                }

                // EncodeToIds and CountTokens with a maximum stop at the same place.
                var limited = Base.EncodeToIds(text, max, out string? limitedText, out int consumed, preTokenize, normalize);
                Assert.Null(limitedText);
                Assert.Equal((index, count), (consumed, limited.Count));
                Assert.Equal(all.Take(count), limited);
                if (count < Math.Min(max, all.Length)) cutShort++;
            }
        }

        // The random text makes cuts that must give up tokens (inside a character's bytes, before a re-split word).
        Assert.True(cutShort > 20, $"only {cutShort} short cuts");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void GetIndexByTokenCountFromEnd_keeps_the_most_whole_tokens_that_encode_alone_as_the_suffix(bool normalize, bool preTokenize)
    {
        var random = new Random(1900 + (normalize ? 1 : 0) + (preTokenize ? 2 : 0));
        for (int i = 0; i < 250; i++)
        {
            string text = NextText(random);
            int[] all = [.. Base.EncodeToIds(text, preTokenize, normalize)];
            foreach (int max in MaxCounts(random, all.Length))
            {
                int index = Base.GetIndexByTokenCountFromEnd(text, max, out string? normalized, out int count, preTokenize, normalize);
                string context = $"text {JsonSerializer.Serialize(text)}, max {max}: index {index}, count {count}";

                Assert.Null(normalized);
                Assert.InRange(count, 0, Math.Min(max, all.Length));
                Assert.InRange(index, 0, text.Length);
                Assert.False(SplitsSurrogatePair(text, index), context);
                Assert.True(all.AsSpan(all.Length - count).SequenceEqual([.. Base.EncodeToIds(text[index..], preTokenize, normalize)]), context);
                if (all.Length <= max) Assert.Equal((0, all.Length), (index, count));
                for (int start = index - 1; start >= 0; start--)
                {
                    if (SplitsSurrogatePair(text, start)) continue;
                    var ids = Base.EncodeToIds(text[start..], preTokenize, normalize);
                    bool better = ids.Count > count && ids.Count <= max && all.AsSpan(all.Length - ids.Count).SequenceEqual([.. ids]);
                    Assert.False(better, $"{context}; text[{start}..] encodes to the last {ids.Count} ids");
                }
            }
        }
    }

    [Theory]
    [InlineData("x\n\ny", 3, 2, 2, 1, 3)]     // "x\n\n" alone ends in the word "\n\n", one token
    [InlineData("x\t\t\ty", 3, 3, 2, 1, 3)]   // likewise "\t\t\t"
    [InlineData("x~'s", 2, 2, 2, 3, 1)]       // "'s" alone is a contraction, one token; after "~" it is not
    [InlineData("\U0001F600\U0001F600", 2, 0, 0, 4, 0)] // each emoji is three tokens: two never hold a whole one
    [InlineData("\U0001F600\U0001F600", 4, 2, 3, 2, 3)]
    [InlineData("<|endoftext|>\u0338x", 2, 13, 1, 14, 1)]
    public void Cuts_where_the_text_would_encode_differently_are_not_taken(
        string text, int max, int index, int count, int indexFromEnd, int countFromEnd)
    {
        Assert.Equal(index, Base.GetIndexByTokenCount(text, max, out _, out int actualCount));
        Assert.Equal(count, actualCount);
        Assert.Equal(indexFromEnd, Base.GetIndexByTokenCountFromEnd(text, max, out _, out int actualCountFromEnd));
        Assert.Equal(countFromEnd, actualCountFromEnd);
    }

    [Fact]
    public void A_long_document_is_cut_without_encoding_all_of_it()
    {
        string text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 20_000));
        int index = Base.GetIndexByTokenCount(text, 100, out _, out int count);
        var layout = TokenLayout.Build(Olmoe, text, normalize: true, preTokenize: true, limit: 100);

        Assert.Equal(100, count);
        Assert.Equal(Base.EncodeToIds(text).Take(100), Base.EncodeToIds(text[..index]));
        Assert.False(layout.IsComplete);
        Assert.InRange(layout.Count, 101, 110); // stopped at the first word past the limit, of 200,000 tokens
        Assert.Equal((index, count), layout.PrefixCut(100));
    }

    [Fact]
    public void Laying_out_a_long_text_a_window_at_a_time_changes_nothing()
    {
        // Windows of a few characters cut the text at every "letter + space" the random text has.
        var random = new Random(185);
        int windowed = 0;
        for (int i = 0; i < 300; i++)
        {
            string text = NextText(random) + " and " + NextText(random);
            bool normalize = random.Next(2) == 0;
            var whole = TokenLayout.Build(Olmoe, text, normalize, preTokenize: true);
            var inWindows = TokenLayout.Build(Olmoe, text, normalize, preTokenize: true, limit: int.MaxValue - 1, window: random.Next(1, 8));

            Assert.Equal(whole.Ids, inWindows.Ids);
            Assert.True(inWindows.IsComplete);
            for (int t = 0; t < whole.Count; t++) Assert.Equal(whole.OffsetOf(t), inWindows.OffsetOf(t));
            for (int max = 1; max <= whole.Count; max++)
            {
                Assert.Equal(whole.PrefixCut(max), inWindows.PrefixCut(max));
                Assert.Equal(whole.SuffixCut(max), inWindows.SuffixCut(max));
            }
            windowed += inWindows.SegmentCount - whole.SegmentCount;
        }
        Assert.True(windowed > 300, $"only {windowed} extra windows");
    }

    [Fact]
    public void A_tower_of_combining_marks_is_cut_only_at_its_ends()
    {
        // NFC rewrites "a" and the 3,000 marks after it as one stretch (the first mark composes: á).
        string tower = "a" + new string('\u0301', 3_000);
        string text = "Hello " + tower + " world";
        int[] all = [.. Base.EncodeToIds(text)];
        int towerStart = "Hello ".Length, towerEnd = towerStart + tower.Length;

        foreach (int max in new[] { 1, 2, 3, 50, all.Length - 2, all.Length - 1 })
        {
            int index = Base.GetIndexByTokenCount(text, max, out _, out int count);
            Assert.True(index <= towerStart || index >= towerEnd, $"max {max}: cut at {index}");
            Assert.Equal(all.Take(count), Base.EncodeToIds(text[..index]));
            int fromEnd = Base.GetIndexByTokenCountFromEnd(text, max, out _, out int countFromEnd);
            Assert.True(fromEnd <= towerStart || fromEnd >= towerEnd, $"max {max}: cut from the end at {fromEnd}");
            Assert.Equal(all.Skip(all.Length - countFromEnd), Base.EncodeToIds(text[fromEnd..]));
        }
        CheckCover(text, Base.EncodeToTokens(text, out _));
    }

    [Fact]
    public void The_maximum_token_count_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Base.GetIndexByTokenCount("abc", 0, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => Base.GetIndexByTokenCountFromEnd("abc", -1, out _, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => Base.EncodeToIds("abc", 0, out _, out _));
    }

    [Fact]
    public void Without_pre_tokenization_special_token_text_is_plain_text()
    {
        const string text = "a<|endoftext|>b";

        Assert.Contains(Olmoe.EndOfTextId, Base.EncodeToIds(text));
        var plain = Base.EncodeToIds(text, considerPreTokenization: false);
        Assert.DoesNotContain(Olmoe.EndOfTextId, plain);
        Assert.Equal(text, Base.Decode(plain));
    }

    [Fact]
    public void Without_normalization_the_text_is_encoded_as_given()
    {
        const string text = "Cre\u0300me";

        Assert.Equal("Crème", Base.Decode(Base.EncodeToIds(text)));
        Assert.Equal(text, Base.Decode(Base.EncodeToIds(text, considerNormalization: false)));
        Assert.NotEqual(Base.CountTokens(text), Base.CountTokens(text, considerNormalization: false));
    }

    [Fact]
    public void The_normalizer_is_the_normalization_encoding_applies()
    {
        var normalizer = Base.Normalizer!;

        Assert.Equal("é<|endoftext|>\u0338\uFFFD", normalizer.Normalize("e\u0301<|endoftext|>\u0338\uD800"));
        var random = new Random(181);
        for (int i = 0; i < 500; i++)
        {
            string text = NextText(random);
            Assert.Equal(Base.Decode(Base.EncodeToIds(text)), normalizer.Normalize(text));
            Assert.Equal(normalizer.Normalize(text), normalizer.Normalize(text.AsSpan()));
        }
    }

    [Fact]
    public void The_pre_tokenizer_splits_normalized_text_into_the_pieces_encoded_one_by_one()
    {
        Assert.Equal(
            [(0, 5), (5, 6), (11, 2), (13, 13), (26, 1)],
            Base.PreTokenizer!.PreTokenize("Hello world  <|endoftext|>!"));
        var random = new Random(182);
        for (int i = 0; i < 500; i++)
        {
            string text = Base.Normalizer!.Normalize(NextText(random));
            var pieces = Base.PreTokenizer!.PreTokenize(text).ToArray();

            Assert.Equal(pieces, Base.PreTokenizer.PreTokenize(text.AsSpan()));
            int position = 0;
            var ids = new List<int>();
            foreach (var (offset, length) in pieces)
            {
                Assert.Equal(position, offset);
                Assert.True(length > 0);
                ids.AddRange(Base.EncodeToIds(text.Substring(offset, length)));
                position += length;
            }
            Assert.Equal(text.Length, position);
            Assert.Equal(Base.EncodeToIds(text), ids);
        }
    }

    [Fact]
    public void Span_decode_stops_at_whole_characters_and_continues_exactly()
    {
        var random = new Random(183);
        for (int i = 0; i < 300; i++)
        {
            var ids = new int[random.Next(1, 12)];
            for (int j = 0; j < ids.Length; j++)
                ids[j] = random.Next(3) == 0 ? random.Next(0, 256) : random.Next(0, 50304);
            CheckSpanDecode(ids);
        }
        CheckSpanDecode([.. Base.EncodeToIds("a\U0001F917b 中文")]);
    }

    [Fact]
    public void OlmoeTokenizer_methods_and_the_base_type_agree()
    {
        var random = new Random(184);
        for (int i = 0; i < 200; i++)
        {
            string text = NextText(random);
            int[] ids = [.. Olmoe.Encode(text)];
            Assert.Equal(ids, Base.EncodeToIds(text));
            Assert.Equal(Olmoe.Decode(ids), Base.Decode(ids));
            Assert.Equal(Olmoe.Decode(ids), Olmoe.Decode((IEnumerable<int>)ids));
        }
    }

    /// <summary>
    /// Offsets: contiguous, in order, covering the text, never splitting a surrogate pair; the text up to a token's
    /// end normalizes to a prefix of the bytes of the tokens up to it, and is the longest such prefix of the text.
    /// On text that normalization leaves as it is, a token whose bytes are whole characters has its own text as range.
    /// </summary>
    private static void CheckOffsets(string text, IReadOnlyList<EncodedToken> tokens, bool normalize, bool preTokenize = true)
    {
        CheckCover(text, tokens);

        // What encoding sees: without pre-tokenization, special tokens are not cut out before NFC.
        string Normalized(string s)
        {
            s = LoneSurrogates.ReplaceOrNull(s) ?? s;
            if (!normalize) return s;
            return preTokenize ? Olmoe.Normalizer!.Normalize(s) : Nfc.Normalize(s);
        }
        var bytes = new List<byte>();
        bool asGiven = Normalized(text) == text;
        for (int i = 0; i < tokens.Count; i++)
        {
            int before = bytes.Count;
            bytes.AddRange(Olmoe.TokenBytes[tokens[i].Id].ToArray());
            int end = tokens[i].Offset.End.Value;
            Assert.True(IsPrefix(Utf8(Normalized(text[..end])), bytes), $"token {i} of {JsonSerializer.Serialize(text)}: text to {end} is more than its tokens");
            int next = end + (end < text.Length && char.IsHighSurrogate(text[end]) ? 2 : 1);
            if (end < text.Length)
                Assert.False(IsPrefix(Utf8(Normalized(text[..next])), bytes), $"token {i} of {JsonSerializer.Serialize(text)}: its range could end later");
            if (asGiven && IsWholeCharacters(bytes, before) && IsWholeCharacters(bytes, bytes.Count))
                Assert.Equal(Encoding.UTF8.GetString([.. bytes.Skip(before)]), text[tokens[i].Offset]);
        }
    }

    private static void CheckCover(string text, IReadOnlyList<EncodedToken> tokens)
    {
        int position = 0;
        foreach (var token in tokens)
        {
            Assert.Equal(position, token.Offset.Start.Value);
            Assert.True(token.Offset.End.Value >= position);
            position = token.Offset.End.Value;
            Assert.False(SplitsSurrogatePair(text, position));
        }
        Assert.Equal(text.Length, position);
    }

    /// <summary>Decoding into too small a destination writes a prefix that the rest of the ids continue exactly.</summary>
    private static void CheckSpanDecode(int[] ids)
    {
        string full = Base.Decode(ids)!;
        for (int size = 0; size <= full.Length + 1; size++)
        {
            var destination = new char[size];
            var status = Base.Decode(ids, destination, out int consumed, out int written);
            if (size >= full.Length)
            {
                Assert.Equal(OperationStatus.Done, status);
                Assert.Equal((ids.Length, full), (consumed, new string(destination, 0, written)));
                continue;
            }
            Assert.Equal(OperationStatus.DestinationTooSmall, status);
            string first = new(destination, 0, written);
            Assert.Equal(Base.Decode(ids.Take(consumed)), first);
            Assert.Equal(full, first + Base.Decode(ids.Skip(consumed)));
        }
    }

    private static string NextText(Random random)
    {
        var text = new StringBuilder();
        int parts = random.Next(1, 7);
        for (int i = 0; i < parts; i++)
        {
            if (random.Next(3) == 0) text.Append(Fragments[random.Next(Fragments.Length)]);
            else text.Append(RandomText.Next(random, 4));
        }
        return text.ToString();
    }

    private static IEnumerable<int> MaxCounts(Random random, int count) =>
        new[] { 1, 2, random.Next(1, count + 2), count }.Where(max => max > 0).Distinct();

    private static bool SplitsSurrogatePair(string text, int index) =>
        index > 0 && index < text.Length && char.IsHighSurrogate(text[index - 1]) && char.IsLowSurrogate(text[index]);

    /// <summary>True when the first <paramref name="length"/> bytes of valid UTF-8 end on a character boundary.</summary>
    private static bool IsWholeCharacters(List<byte> bytes, int length) =>
        length == 0 || (length < bytes.Count
            ? (bytes[length] & 0xC0) != 0x80
            : StreamingDecoder.IncompleteTailLength(bytes.ToArray()) == 0);

    private static bool IsPrefix(byte[] prefix, List<byte> bytes) =>
        prefix.Length <= bytes.Count && prefix.AsSpan().SequenceEqual(bytes.GetRange(0, prefix.Length).ToArray());

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Bytes(IEnumerable<int> ids) => [.. ids.SelectMany(id => Olmoe.TokenBytes[id].ToArray())];

    private static TheoryData<int> LineNumbers(string file) => PublicCaseFiles.LineNumbers(file);

    private static JsonDocument Read(string file, int line) => PublicCaseFiles.Read(file, line);

    private static IEnumerable<string> ReferenceLines()
    {
        using var stream = typeof(MLTokenizersTests).Assembly.GetManifestResourceStream("reference-cases.jsonl.gz")
            ?? throw new InvalidOperationException("reference-cases.jsonl.gz is not embedded");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0) yield return line;
        }
    }
}
