using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Tests.Tokenization;

public sealed class OlmoeTokenizerTests
{
    private static OlmoeTokenizer Tokenizer => TokenizerFixture.Tokenizer;

    [Fact]
    public void Reads_the_special_ids_from_the_file()
    {
        Assert.Equal(50279, Tokenizer.EndOfTextId);
        Assert.Equal(1, Tokenizer.PaddingId);
        Assert.Equal(50280, Tokenizer.VocabularySize);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(50279, true)]
    [InlineData(0, false)]
    [InlineData(50276, false)]
    [InlineData(50278, false)]
    [InlineData(12092, false)]
    [InlineData(50280, false)]
    [InlineData(-1, false)]
    public void Knows_which_ids_are_special(int id, bool special)
    {
        Assert.Equal(special, Tokenizer.IsSpecial(id));
    }

    [Fact]
    public void Ids_without_a_token_decode_to_nothing()
    {
        int[] ids = [.. Enumerable.Range(50280, 24), -5, int.MaxValue];

        Assert.Equal("", Tokenizer.Decode(ids));
        Assert.Equal("", Tokenizer.CreateStreamingDecoder().Append(50300));
    }

    [Fact]
    public void Skipping_special_tokens_keeps_space_runs()
    {
        Assert.Equal("a   b", Tokenizer.Decode([66, 1, 50275, 50279, 67], skipSpecialTokens: true));
    }

    [Fact]
    public void Empty_text_encodes_to_nothing()
    {
        Assert.Empty(Tokenizer.Encode(""));
        Assert.Equal("", Tokenizer.Decode([]));
    }

    [Fact]
    public void The_span_overload_appends()
    {
        var ids = new List<int> { 42 };

        Tokenizer.Encode("  Hello".AsSpan(), ids);

        Assert.Equal([42, 50276, 12092], ids);
    }

    [Fact]
    public void Space_runs_longer_than_the_longest_added_token_split_leftmost_longest()
    {
        // 24 spaces is the longest added token; a 25th single space joins the word after it.
        var ids = Tokenizer.Encode(new string(' ', 25) + "x");

        Assert.Equal([50254, 1269], ids);
        Assert.Equal(new string(' ', 25) + "x", Tokenizer.Decode([.. ids]));
    }

    [Fact]
    public void Long_input_without_spaces_encodes_in_reasonable_time()
    {
        // One 200,000-character word: the heap-based merge keeps this near-linear.
        string text = string.Concat(Enumerable.Repeat("abcdefghij", 20_000));
        var started = DateTime.UtcNow;

        var ids = Tokenizer.Encode(text);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Equal(text, Tokenizer.Decode([.. ids]));
    }

    [Fact]
    public void Loads_from_a_model_folder()
    {
        var folder = Directory.CreateTempSubdirectory("olmoe-tokenizer-");
        try
        {
            File.Copy(TokenizerFixture.FilePath, Path.Combine(folder.FullName, OlmoeTokenizer.FileName));

            var fromFolder = OlmoeTokenizer.Load(folder.FullName);
            var fromFile = OlmoeTokenizer.Load(Path.Combine(folder.FullName, OlmoeTokenizer.FileName));

            Assert.Equal(Tokenizer.Encode("Hello world"), fromFolder.Encode("Hello world"));
            Assert.Equal(Tokenizer.Encode("Hello world"), fromFile.Encode("Hello world"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
