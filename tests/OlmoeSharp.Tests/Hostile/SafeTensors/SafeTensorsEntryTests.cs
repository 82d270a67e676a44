using System.Text.Json.Nodes;
using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests.Hostile.SafeTensors;

/// <summary>
/// Header entries that lie: unknown or missing dtype, shape and data_offsets; offsets that are negative, reversed,
/// overlapping or out of range; shapes that overflow or do not match their span; names given twice; bad metadata.
/// Each must be refused naming the file and the tensor.
/// </summary>
public sealed class SafeTensorsEntryTests
{
    private const string Weights = HostileCheckpoint.Weights;

    /// <summary>The entry every case breaks: a [64, 64] BF16 matrix in the middle of the file.</summary>
    private static readonly string Target = TensorNames.QProj(0);

    /// <summary>Another [64, 64] BF16 matrix, for overlaps.</summary>
    private static readonly string Neighbour = TensorNames.KProj(0);

    public static TheoryData<string> EntryEditNames() => new(EntryEdits.Keys);

    /// <summary>Edits of the target's entry; the second argument is the length of the data section.</summary>
    private static readonly Dictionary<string, Action<JsonObject, long>> EntryEdits = new()
    {
        ["dtype missing"] = (e, _) => e.Remove("dtype"),
        ["dtype null"] = (e, _) => e["dtype"] = null,
        ["dtype a number"] = (e, _) => e["dtype"] = 16,
        ["dtype unknown"] = (e, _) => e["dtype"] = "Q4_K",
        ["dtype lower case"] = (e, _) => e["dtype"] = "bf16",
        ["dtype empty"] = (e, _) => e["dtype"] = "",
        ["shape missing"] = (e, _) => e.Remove("shape"),
        ["shape a string"] = (e, _) => e["shape"] = "[64, 64]",
        ["shape an object"] = (e, _) => e["shape"] = new JsonObject { ["rows"] = 64 },
        ["shape negative"] = (e, _) => e["shape"] = Json("[-64, -64]"),
        ["shape fractional"] = (e, _) => e["shape"] = Json("[64.5, 64]"),
        ["shape float-spelled"] = (e, _) => e["shape"] = Json("[64.0, 64]"),
        ["shape exponent-spelled"] = (e, _) => e["shape"] = Json("[6.4e1, 64]"),
        ["shape dimension a string"] = (e, _) => e["shape"] = Json("[\"64\", 64]"),
        ["shape dimension null"] = (e, _) => e["shape"] = Json("[null, 64]"),
        ["shape dimension past int64"] = (e, _) => e["shape"] = Json("[9223372036854775808, 0]"),
        ["shape dimension 1e30"] = (e, _) => e["shape"] = Json("[1e30, 64]"),
        ["shape element count overflows"] = (e, _) => e["shape"] = Json("[4294967296, 4294967296, 4294967296]"),
        ["shape byte count overflows"] = (e, _) => e["shape"] = Json("[2305843009213693952, 2]"),
        ["shape product wraps to the right size"] = (e, _) => e["shape"] = Json("[4096, 4503599627370497]"),
        ["shape needs more bytes than the span"] = (e, _) => e["shape"] = Json("[64, 65]"),
        ["shape needs fewer bytes than the span"] = (e, _) => e["shape"] = Json("[64, 63]"),
        ["dtype wider than the span"] = (e, _) => e["dtype"] = "F32",
        ["offsets missing"] = (e, _) => e.Remove("data_offsets"),
        ["offsets empty"] = (e, _) => e["data_offsets"] = Json("[]"),
        ["offsets one number"] = (e, _) => e["data_offsets"] = Json("[0]"),
        ["offsets three numbers"] = (e, _) => e["data_offsets"] = Offsets(e).Append(8192).ToJsonArray(),
        ["offsets a string"] = (e, _) => e["data_offsets"] = "0,8192",
        ["offsets strings"] = (e, _) => e["data_offsets"] = Json("[\"0\", \"8192\"]"),
        ["offsets fractional"] = (e, _) => e["data_offsets"] = Json("[0.5, 8192.5]"),
        ["offsets negative begin"] = (e, _) => e["data_offsets"] = Json("[-8192, 0]"),
        ["offsets negative both"] = (e, _) => e["data_offsets"] = Json("[-16384, -8192]"),
        ["offsets reversed"] = (e, _) => e["data_offsets"] = Enumerable.Reverse(Offsets(e)).ToJsonArray(),
        ["offsets past the data"] = (e, length) => e["data_offsets"] = new long[] { length - 8190, length + 2 }.ToJsonArray(),
        ["offsets entirely past the data"] = (e, length) => e["data_offsets"] = new long[] { length + 8192, length + 16384 }.ToJsonArray(),
        ["offsets at int64 max"] = (e, _) => e["data_offsets"] = new long[] { long.MaxValue - 8192, long.MaxValue }.ToJsonArray(),
        ["offsets past int64"] = (e, _) => e["data_offsets"] = Json("[18446744073709543424, 18446744073709551615]"),
        ["offsets span too short"] = (e, _) => e["data_offsets"] = new[] { Offsets(e)[0], Offsets(e)[1] - 2 }.ToJsonArray(),
        ["offsets span too long"] = (e, _) => e["data_offsets"] = new[] { Offsets(e)[0], Offsets(e)[1] + 2 }.ToJsonArray(),
    };

    [Theory]
    [MemberData(nameof(EntryEditNames))]
    public void A_lying_entry_is_refused_naming_its_tensor(string edit)
    {
        using var checkpoint = new HostileCheckpoint();
        long dataLength = checkpoint.ReadSafeTensors(Weights).Data.Length;
        checkpoint.EditHeader(Weights, header => EntryEdits[edit](header[Target]!.AsObject(), dataLength));
        HostileAssert.Rejects(checkpoint, Weights, Target);
    }

    [Theory]
    [InlineData("64")]
    [InlineData("\"BF16\"")]
    [InlineData("[\"BF16\", [64, 64], [0, 8192]]")]
    [InlineData("null")]
    public void An_entry_that_is_not_an_object_is_refused(string entry)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeader(Weights, header => header[Target] = Json(entry));
        HostileAssert.Rejects(checkpoint, Weights, Target);
    }

    [Fact]
    public void An_entry_giving_a_field_twice_is_refused()
    {
        // Parsers disagree on which duplicate wins; a file that reads differently in two tools is refused outright.
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeaderText(Weights, text => text.Replace($"\"{Target}\":{{\"dtype\":\"BF16\"", $"\"{Target}\":{{\"dtype\":\"BF16\",\"dtype\":\"F16\""));
        Assert.Contains("dtype", HostileAssert.Rejects(checkpoint, Weights, Target).Message);
    }

    [Fact]
    public void A_tensor_declared_twice_is_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeaderText(Weights, text => text.Replace($"\"{Neighbour}\"", $"\"{Target}\""));
        Assert.Contains("twice", HostileAssert.Rejects(checkpoint, Weights, Target).Message);
    }

    [Fact]
    public void Two_tensors_sharing_their_bytes_are_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeader(Weights, header => header[Neighbour]!["data_offsets"] = header[Target]!["data_offsets"]!.DeepClone());
        Assert.Contains("overlap", HostileAssert.RejectsNamingATensor(checkpoint, Weights).Message);
    }

    [Fact]
    public void Two_tensors_overlapping_by_part_are_refused()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeader(Weights, header =>
        {
            long[] target = Offsets(header[Target]!.AsObject());
            long half = (target[1] - target[0]) / 2;
            header[Neighbour]!["data_offsets"] = new[] { target[0] + half, target[1] + half }.ToJsonArray();
        });
        var error = HostileAssert.RejectsNamingATensor(checkpoint, Weights);
        Assert.Contains("overlap", error.Message);
        Assert.Contains(error.Item == Target ? Neighbour : Target, error.Message);
    }

    [Fact]
    public void Zero_sized_tensors_may_share_an_offset()
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeader(Weights, header =>
        {
            long begin = Offsets(header[Target]!.AsObject())[0];
            foreach (string name in (string[])["extra.a", "extra.b"])
                header[name] = new JsonObject { ["dtype"] = "F32", ["shape"] = Json("[0, 7]"), ["data_offsets"] = new[] { begin, begin }.ToJsonArray() };
        });
        checkpoint.Load().Dispose();
    }

    [Theory]
    [InlineData("\"pt\"")]
    [InlineData("[\"format\", \"pt\"]")]
    [InlineData("{\"format\": 1}")]
    [InlineData("{\"format\": {\"nested\": \"pt\"}}")]
    [InlineData("{\"format\": null}")]
    public void Metadata_that_is_not_an_object_of_strings_is_refused(string metadata)
    {
        using var checkpoint = new HostileCheckpoint();
        checkpoint.EditHeader(Weights, header => header["__metadata__"] = Json(metadata));
        HostileAssert.Rejects(checkpoint, Weights, "__metadata__");
    }

    private static JsonNode? Json(string text) => JsonNode.Parse(text);

    private static long[] Offsets(JsonObject entry) => entry["data_offsets"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
}

/// <summary>Turns numbers into the JSON arrays a header holds.</summary>
internal static class JsonArrayExtensions
{
    public static JsonArray ToJsonArray(this IEnumerable<long> values) => new(values.Select(v => (JsonNode?)v).ToArray());
}
