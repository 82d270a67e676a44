using System.Text;
using OlmoeSharp.Loading;
using OlmoeSharp.Tests.Hostile;

namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>
/// The crashes the checkpoint fuzzer found (seed 20240901 unless noted), each reduced to the smallest input that
/// showed it. Before the fixes every one escaped as an untyped exception or blamed something that is not a file.
/// </summary>
public sealed class FuzzerRegressionTests
{
    /// <summary>Writes <paramref name="bytes"/> over the bytes of a file that follow the first occurrence of <paramref name="marker"/>.</summary>
    private static void PatchAfter(HostileCheckpoint checkpoint, string fileName, string marker, byte[] bytes)
    {
        byte[] content = checkpoint.ReadBytes(fileName);
        int at = content.AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker));
        Assert.True(at >= 0, $"{marker} not in {fileName}");
        bytes.CopyTo(content, at + marker.Length);
        checkpoint.WriteBytes(fileName, content);
    }

    [Fact]
    public void Case_69_a_byte_that_is_not_utf8_inside_a_header_name_was_an_InvalidOperationException()
    {
        // The fuzzer set one byte of a tensor name to 0xF4 (a 4-byte lead with no continuation). The JSON parser
        // accepted it; decoding the property name threw InvalidOperationException out of SafeTensorsHeader.Parse.
        using var checkpoint = new HostileCheckpoint();
        PatchAfter(checkpoint, HostileCheckpoint.Weights, "\"model.layers.0.", [0xF4]);
        Assert.Contains("UTF-8", HostileAssert.Rejects(checkpoint, HostileCheckpoint.Weights, item: null).Message);
    }

    [Fact]
    public void Case_54_a_byte_that_is_not_utf8_inside_a_config_string_was_an_InvalidOperationException()
    {
        // 0xE8 inside "silu": thrown when RejectUnsupported read hidden_act.
        using var checkpoint = new HostileCheckpoint();
        PatchAfter(checkpoint, HostileCheckpoint.ConfigFile, "\"hidden_act\": \"si", [0xE8]);
        HostileAssert.Rejects(checkpoint, HostileCheckpoint.ConfigFile, item: null);
    }

    [Fact]
    public void Case_37_a_lone_surrogate_escape_in_any_config_key_broke_lookups_of_other_keys()
    {
        // "\ud800" spliced in at the start of an unrelated key: a TryGetProperty passing over that key unescaped it to
        // compare it and threw InvalidOperationException, so fields after it in lookup order could not be read.
        using var checkpoint = new HostileCheckpoint();
        string text = File.ReadAllText(checkpoint.PathOf(HostileCheckpoint.ConfigFile));
        checkpoint.WriteText(HostileCheckpoint.ConfigFile, text.Replace("\"initializer_range\"", "\"\\ud800initializer_range\""));
        Assert.Contains("surrogate", HostileAssert.Rejects(checkpoint, HostileCheckpoint.ConfigFile, item: null).Message);
    }

    [Fact]
    public void Case_177_a_lone_low_surrogate_escape_in_a_config_value_was_an_InvalidOperationException()
    {
        using var checkpoint = new HostileCheckpoint();
        string text = File.ReadAllText(checkpoint.PathOf(HostileCheckpoint.ConfigFile));
        checkpoint.WriteText(HostileCheckpoint.ConfigFile, text.Replace("\"silu\"", "\"\\udfffsilu\""));
        Assert.Contains("surrogate", HostileAssert.Rejects(checkpoint, HostileCheckpoint.ConfigFile, "hidden_act").Message);
    }

    [Fact]
    public void Case_160_a_tensor_the_index_leaves_out_was_blamed_on_a_folder_that_is_not_a_file()
    {
        // The error's FilePath was "<folder> (all shards)": not a path anyone can open. The index is at fault.
        using var checkpoint = new HostileCheckpoint(new RandomCheckpointOptions { Shards = 2 });
        checkpoint.EditJson(HostileCheckpoint.Index, index => index["weight_map"]!.AsObject().Remove(TensorNames.KProj(0)));
        var error = HostileAssert.Rejects(checkpoint, HostileCheckpoint.Index, TensorNames.KProj(0));
        Assert.True(File.Exists(error.FilePath));
    }
}
