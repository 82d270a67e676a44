using System.Text.Json.Nodes;

namespace OlmoeSharp.Tests.Hostile.Config;

/// <summary>
/// config.json that is inconsistent, mistyped, incomplete, not OLMoE, asks for features the engine lacks, or is not
/// JSON at all; and checkpoints missing config.json or their weights.
/// </summary>
public sealed class ConfigJsonTests
{
    private const string Config = HostileCheckpoint.ConfigFile;

    [Theory]
    // Sizes that do not fit together.
    [InlineData("num_attention_heads", "5", "num_attention_heads")]
    [InlineData("hidden_size", "66", "num_attention_heads")]
    [InlineData("num_attention_heads", "64", "num_attention_heads")]
    [InlineData("num_attention_heads", "128", "num_attention_heads")]
    [InlineData("num_key_value_heads", "3", "num_key_value_heads")]
    [InlineData("num_key_value_heads", "8", "num_key_value_heads")]
    [InlineData("num_key_value_heads", "0", "num_key_value_heads")]
    [InlineData("num_key_value_heads", "-4", "num_key_value_heads")]
    [InlineData("num_experts_per_tok", "9", "num_experts_per_tok")]
    [InlineData("num_experts_per_tok", "0", "num_experts_per_tok")]
    [InlineData("num_experts_per_tok", "-1", "num_experts_per_tok")]
    [InlineData("num_experts", "0", "num_experts")]
    [InlineData("num_hidden_layers", "0", "num_hidden_layers")]
    [InlineData("num_hidden_layers", "-2", "num_hidden_layers")]
    [InlineData("vocab_size", "0", "vocab_size")]
    [InlineData("vocab_size", "-256", "vocab_size")]
    [InlineData("hidden_size", "0", "hidden_size")]
    [InlineData("intermediate_size", "-32", "intermediate_size")]
    [InlineData("max_position_embeddings", "0", "max_position_embeddings")]
    [InlineData("eos_token_id", "256", "eos_token_id")]
    [InlineData("eos_token_id", "-1", "eos_token_id")]
    [InlineData("eos_token_id", "[255, 4096]", "eos_token_id")]
    [InlineData("pad_token_id", "256", "pad_token_id")]
    [InlineData("bos_token_id", "-7", "bos_token_id")]
    [InlineData("rms_norm_eps", "-1e-5", "rms_norm_eps")]
    [InlineData("rope_theta", "0", "rope_theta")]
    [InlineData("rope_theta", "-10000", "rope_theta")]
    [InlineData("clip_qkv", "0", "clip_qkv")]
    [InlineData("clip_qkv", "-8", "clip_qkv")]
    // Huge numbers.
    [InlineData("vocab_size", "2147483647", "vocab_size")]
    [InlineData("vocab_size", "2147483648", "vocab_size")]
    [InlineData("hidden_size", "99999999999999999999999", "hidden_size")]
    [InlineData("num_hidden_layers", "1e9", "num_hidden_layers")]
    [InlineData("num_experts", "1000000", "num_experts")]
    [InlineData("intermediate_size", "1073741824", "intermediate_size")]
    [InlineData("max_position_embeddings", "1000000000", "max_position_embeddings")]
    [InlineData("rope_theta", "1e39", "rope_theta")]
    [InlineData("rope_theta", "1e400", "rope_theta")]
    [InlineData("rms_norm_eps", "1e400", "rms_norm_eps")]
    // Strings, floats, booleans, objects where numbers belong, and the reverse.
    [InlineData("hidden_size", "\"64\"", "hidden_size")]
    [InlineData("vocab_size", "\"\"", "vocab_size")]
    [InlineData("num_hidden_layers", "2.0", "num_hidden_layers")]
    [InlineData("num_attention_heads", "4.5", "num_attention_heads")]
    [InlineData("num_experts", "true", "num_experts")]
    [InlineData("num_experts_per_tok", "[2]", "num_experts_per_tok")]
    [InlineData("intermediate_size", "{\"value\": 32}", "intermediate_size")]
    [InlineData("rope_theta", "\"10000\"", "rope_theta")]
    [InlineData("rms_norm_eps", "[1e-5]", "rms_norm_eps")]
    [InlineData("eos_token_id", "\"255\"", "eos_token_id")]
    [InlineData("eos_token_id", "[255, \"x\"]", "eos_token_id")]
    [InlineData("eos_token_id", "[[255]]", "eos_token_id")]
    [InlineData("tie_word_embeddings", "\"false\"", "tie_word_embeddings")]
    [InlineData("norm_topk_prob", "0", "norm_topk_prob")]
    [InlineData("model_type", "5", "model_type")]
    // Not OLMoE, or OLMoE with features the engine would silently get wrong.
    [InlineData("model_type", "\"llama\"", "model_type")]
    [InlineData("model_type", "\"OLMoE\"", "model_type")]
    [InlineData("model_type", "null", "model_type")]
    [InlineData("rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", "rope_scaling")]
    [InlineData("rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling")]
    [InlineData("rope_scaling", "{\"rope_type\": 7}", "rope_scaling.rope_type")]
    [InlineData("rope_scaling", "\"linear\"", "rope_scaling")]
    [InlineData("rope_parameters", "{\"rope_type\": \"dynamic\", \"rope_theta\": 10000}", "rope_parameters")]
    [InlineData("rope_parameters", "[10000]", "rope_parameters")]
    [InlineData("rope_parameters", "{\"rope_type\": \"default\", \"rope_theta\": 500000}", "rope_theta")]
    [InlineData("attention_bias", "true", "attention_bias")]
    [InlineData("attention_bias", "\"no\"", "attention_bias")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act")]
    [InlineData("hidden_act", "[\"silu\"]", "hidden_act")]
    public void A_bad_value_is_refused_naming_the_field(string field, string value, string expectedItem)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditJson(Config, config => config[field] = JsonNode.Parse(value));
        HostileAssert.Rejects(checkpoint, Config, expectedItem);
    }

    [Fact]
    public void Rope_theta_may_come_from_rope_parameters_alone()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditJson(Config, config =>
        {
            config.Remove("rope_theta");
            config["rope_parameters"] = JsonNode.Parse("{\"rope_type\": \"default\", \"rope_theta\": 500000}");
        });
        using var model = checkpoint.Load();
        Assert.Equal(500000f, model.Config.RopeTheta);
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("hidden_size")]
    [InlineData("intermediate_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("num_attention_heads")]
    [InlineData("num_experts")]
    [InlineData("num_experts_per_tok")]
    [InlineData("model_type")]
    public void A_missing_required_field_is_named(string field)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditJson(Config, config => Assert.True(config.Remove(field)));
        HostileAssert.Rejects(checkpoint, Config, field);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"model_type\": \"olmoe\",}")]
    [InlineData("{} {}")]
    [InlineData("[]")]
    [InlineData("\"olmoe\"")]
    [InlineData("null")]
    public void A_config_that_is_not_a_json_object_is_refused(string text)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.WriteText(Config, text);
        HostileAssert.Rejects(checkpoint, Config, item: null);
    }

    [Fact]
    public void Deep_nesting_in_the_config_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditJson(Config, config => config["architectures"] = JsonNode.Parse(new string('[', 40) + new string(']', 40)));
        HostileAssert.Rejects(checkpoint, Config, item: null);
        checkpoint.WriteText(Config, new string('[', 10_000) + new string(']', 10_000));
        HostileAssert.Rejects(checkpoint, Config, item: null);
    }

    [Fact]
    public void A_config_value_that_is_not_utf8_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        byte[] text = checkpoint.ReadBytes(Config);
        int at = text.AsSpan().IndexOf("\"olmoe\""u8) + 1;
        text[at] = 0xC0;
        checkpoint.WriteBytes(Config, text);
        Assert.Contains("UTF-8", HostileAssert.Rejects(checkpoint, Config, item: null).Message);
    }

    [Fact]
    public void A_config_string_with_a_lone_surrogate_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.WriteText(Config, File.ReadAllText(checkpoint.PathOf(Config)).Replace("\"olmoe\"", "\"olmoe\\udc00\""));
        HostileAssert.Rejects(checkpoint, Config, "model_type");
    }

    [Fact]
    public void A_config_too_large_to_be_real_is_refused_unread()
    {
        using var checkpoint = new HostileCheckpoint();
        using (var stream = new FileStream(checkpoint.PathOf(Config), FileMode.Open, FileAccess.Write))
            stream.SetLength(2L << 20);
        HostileAssert.Rejects(checkpoint, Config, item: null);
    }

    [Fact]
    public void A_missing_config_is_a_file_not_found_naming_it()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.Delete(Config);
        var error = Assert.Throws<FileNotFoundException>(() => checkpoint.Load().Dispose());
        Assert.Equal(checkpoint.PathOf(Config), error.FileName);
        Assert.Contains(checkpoint.PathOf(Config), error.Message);
    }

    [Fact]
    public void Missing_weights_are_a_file_not_found_naming_the_folder()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.Delete(HostileCheckpoint.Weights);
        var error = Assert.Throws<FileNotFoundException>(() => checkpoint.Load().Dispose());
        Assert.Contains(checkpoint.Directory, error.Message);
        Assert.Contains(HostileCheckpoint.Weights, error.Message);
    }

    [Fact]
    public void A_missing_folder_is_a_directory_not_found_naming_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), "olmoesharp-missing-" + Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<DirectoryNotFoundException>(() => OlmoeModel.Load(missing).Dispose());
        Assert.Contains(missing, error.Message);
    }
}
