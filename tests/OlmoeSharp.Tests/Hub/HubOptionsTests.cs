using OlmoeSharp.Hub;

namespace OlmoeSharp.Tests.Hub;

public sealed class HubOptionsTests
{
    [Fact]
    public void Without_variables_the_defaults_are_huggingface_hubs()
    {
        var options = HubOptions.FromEnvironment(Variables());
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

        Assert.Equal(new Uri("https://huggingface.co"), options.Endpoint);
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "hub"), options.CacheDirectory);
        Assert.False(options.Offline);
        Assert.Equal(TimeSpan.FromSeconds(10), options.Timeout);
        Assert.Equal(new HubOptions().CacheDirectory, options.CacheDirectory);
    }

    [Fact]
    public void HF_HOME_places_the_cache_and_the_token_file()
    {
        string home = Directory.CreateTempSubdirectory("olmoe-hub-home-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");

            var options = HubOptions.FromEnvironment(Variables(("HF_HOME", home)));

            Assert.Equal(Path.Combine(home, "hub"), options.CacheDirectory);
            Assert.Equal("hf_from_file", options.Token);
            Assert.Equal("hf_from_env", HubOptions.FromEnvironment(Variables(("HF_HOME", home), ("HF_TOKEN", "hf_from_env"))).Token);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void Explicit_variables_override_the_defaults()
    {
        var options = HubOptions.FromEnvironment(Variables(
            ("HF_HOME", "/somewhere"),
            ("HF_HUB_CACHE", "/elsewhere/cache"),
            ("HF_ENDPOINT", "http://mirror.local:8080/"),
            ("HF_HUB_OFFLINE", "1"),
            ("HF_HUB_DOWNLOAD_TIMEOUT", "2.5")));

        Assert.Equal("/elsewhere/cache", options.CacheDirectory);
        Assert.Equal(new Uri("http://mirror.local:8080"), options.Endpoint);
        Assert.True(options.Offline);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Timeout);
        Assert.Null(options.Token);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    public void HF_HUB_OFFLINE_accepts_huggingface_hubs_true_values(string value, bool expected) =>
        Assert.Equal(expected, HubOptions.FromEnvironment(Variables(("HF_HUB_OFFLINE", value))).Offline);

    [Fact]
    public void A_malformed_endpoint_is_refused() =>
        Assert.Throws<ArgumentException>(() => HubOptions.FromEnvironment(Variables(("HF_ENDPOINT", "not a url"))));

    private static Func<string, string?> Variables(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;
}
