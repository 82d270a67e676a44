namespace OlmoeSharp.Server.Tests;

/// <summary>The command line: what it sets, and what it refuses with a message and a non-zero exit code.</summary>
public sealed class ServerOptionsTests
{
    [Fact]
    public void The_documented_flags_are_read()
    {
        var options = ServerOptions.Parse(["--model", "m", "--urls", "http://127.0.0.1:9", "--api-key", "k", "--max-sequences", "3", "--max-queue", "0", "--threads", "2"], out int exit);
        Assert.Equal(0, exit);
        Assert.Equal(new ServerOptions { Model = "m", Urls = "http://127.0.0.1:9", ApiKey = "k", MaxSequences = 3, MaxQueue = 0, Threads = 2 }, options);
    }

    [Theory]
    [InlineData("--max-sequences", "0")]
    [InlineData("--max-queue", "-1")]
    [InlineData("--threads", "-2")]
    [InlineData("--max-sequences", "many")]
    [InlineData("--no-such-flag", "1")]
    public void Bad_values_are_refused(string flag, string value)
    {
        var error = Console.Error;
        Console.SetError(TextWriter.Null);
        try
        {
            Assert.Null(ServerOptions.Parse([flag, value], out int exit));
            Assert.NotEqual(0, exit);
        }
        finally
        {
            Console.SetError(error);
        }
    }
}
