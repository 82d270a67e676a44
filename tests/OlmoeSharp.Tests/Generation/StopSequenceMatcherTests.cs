using OlmoeSharp.Generation;

namespace OlmoeSharp.Tests.Generation;

public sealed class StopSequenceMatcherTests
{
    private static (string Text, bool Stopped) Feed(string[] stops, params string[] chunks)
    {
        var matcher = new StopSequenceMatcher(stops);
        string text = string.Concat(chunks.Select(matcher.Append));
        return (text + matcher.Flush(), matcher.Stopped);
    }

    [Fact]
    public void A_stop_sequence_split_over_three_tokens_ends_generation_and_is_not_emitted()
        => Assert.Equal(("Hello", true), Feed(["<|user|>"], "Hello<", "|us", "er|>", " more"));

    [Fact]
    public void A_stop_sequence_split_over_two_tokens_is_found()
        => Assert.Equal(("The answer is 4", true), Feed(["\n\n"], "The answer is 4\n", "\nNext"));

    [Fact]
    public void A_false_start_is_released_once_it_cannot_match()
        => Assert.Equal(("a<|usb and more", false), Feed(["<|user|>"], "a<|us", "b and", " more"));

    [Fact]
    public void Held_back_text_is_released_only_when_safe()
    {
        var matcher = new StopSequenceMatcher(["STOP"]);
        Assert.Equal("abc", matcher.Append("abcST"));
        Assert.Equal("STx", matcher.Append("x"));
        Assert.Equal("", matcher.Append("S"));
        Assert.Equal("S", matcher.Flush());
    }

    [Fact]
    public void The_earliest_of_several_stop_sequences_wins()
        => Assert.Equal(("x", true), Feed(["yz", "y"], "xyz"));

    [Fact]
    public void Nothing_is_emitted_after_stopping()
    {
        var matcher = new StopSequenceMatcher(["."]);
        Assert.Equal("end", matcher.Append("end."));
        Assert.Equal("", matcher.Append("more"));
        Assert.Equal("", matcher.Flush());
    }
}
