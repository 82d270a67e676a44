using System.Text.Json.Nodes;

namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>
/// Random edits of parsed JSON for the fuzzer: values replaced by boundary numbers, numbers nudged, types swapped,
/// fields deleted. Aimed at the checks behind the parsers (sizes, offsets, shapes, names), which byte flips rarely
/// reach with JSON that still parses. Each edit returns a short description for failure reports.
/// </summary>
internal sealed class JsonMutator(Random random)
{
    /// <summary>Numbers at and around the limits the loader has to get right, as JSON text (so 1e400 survives).</summary>
    private static readonly string[] BoundaryNumbers =
    [
        "0", "-0", "1", "-1", "2", "3", "4", "7", "8", "16", "31", "32", "33", "63", "64", "65", "127", "128", "255", "256",
        "257", "1023", "1024", "4095", "4096", "65536", "65537", "262145", "1048577", "4000001", "2147483647", "2147483648",
        "-2147483648", "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "18446744073709551615", "18446744073709551616", "1e308", "1e400", "-1e400", "1e-400", "0.5", "1.5", "64.0", "6.4e1",
        "1e39", "-1e-5",
    ];

    /// <summary>dtype spellings: every real one, and near misses.</summary>
    public static readonly string[] DTypeNames =
    [
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
        "bf16", "F4", "Q4_K", "", "BF16 ", "F8_E8M0",
    ];

    /// <summary>A value of any kind: boundary number, nudged number, wrong type, or empty.</summary>
    public JsonNode? Value(JsonNode? current) => random.Next(10) switch
    {
        < 4 => JsonNode.Parse(Pick(BoundaryNumbers)),
        < 6 when AsLong(current) is long number => Nudge(number),
        6 => current is null ? null : JsonValue.Create(current.ToJsonString()),
        7 => Pick<JsonNode?>([null, true, false, "", "olmoe", new JsonArray(), new JsonObject()]),
        8 => new JsonArray(current?.DeepClone()),
        _ => JsonNode.Parse(Pick(BoundaryNumbers)),
    };

    /// <summary>A number near <paramref name="number"/>: off by one or eight, doubled, halved, negated, or 2^32 away.</summary>
    public JsonNode Nudge(long number) => random.Next(8) switch
    {
        0 => number + 1,
        1 => number - 1,
        2 => number + 8,
        3 => number - 8,
        4 => unchecked(number * 2),
        5 => number / 2,
        6 => -number,
        _ => unchecked(number + (1L << 32)),
    };

    /// <summary>Edits one member of <paramref name="json"/> (or adds one of <paramref name="extraKeys"/>).</summary>
    public string EditMember(JsonObject json, IReadOnlyList<string> extraKeys)
    {
        var keys = json.Select(p => p.Key).Concat(extraKeys).Distinct().ToList();
        if (keys.Count == 0) return "nothing to edit";
        string key = Pick(keys);
        if (random.Next(6) == 0)
        {
            json.Remove(key);
            return $"deleted {key}";
        }
        var value = Value(json[key]);
        json[key] = value;
        return $"{key} = {Show(value)}";
    }

    /// <summary>Edits one tensor entry of a safetensors header: its dtype, shape, offsets, name, or the entry itself.</summary>
    public string EditHeader(JsonObject header)
    {
        var names = header.Select(p => p.Key).Where(k => k != "__metadata__").ToList();
        if (names.Count == 0 || random.Next(25) == 0)
        {
            header["__metadata__"] = Value(header["__metadata__"]);
            return "__metadata__ replaced";
        }
        string name = Pick(names);
        if (header[name] is not JsonObject entry)
        {
            header[name] = Value(header[name]);
            return $"{name} replaced";
        }
        switch (random.Next(12))
        {
            case 0:
                header.Remove(name);
                return $"{name} deleted";
            case 1:
                string other = Pick(names);
                header.Remove(name);
                header[other] = entry;
                return $"{name} renamed to {other}";
            case 2:
                header[name] = Value(entry);
                return $"{name} = {Show(header[name])}";
            case 3:
                header[name + ".extra"] = entry.DeepClone();
                return $"{name} copied under a new name";
            case 4:
                entry["dtype"] = Pick(DTypeNames);
                return $"{name}.dtype = {Show(entry["dtype"])}";
            case < 8:
                return $"{name}.shape: {EditArray(entry, "shape", names, header)}";
            default:
                return $"{name}.data_offsets: {EditArray(entry, "data_offsets", names, header)}";
        }
    }

    /// <summary>Edits one entry of an index's weight_map, or the map itself.</summary>
    public string EditIndex(JsonObject index, IReadOnlyList<string> shards)
    {
        if (index["weight_map"] is not JsonObject map || map.Count == 0 || random.Next(10) == 0)
            return EditMember(index, ["weight_map", "metadata"]);
        var names = map.Select(p => p.Key).ToList();
        string name = Pick(names);
        switch (random.Next(6))
        {
            case 0:
                map.Remove(name);
                return $"{name} unlisted";
            case 1:
                map[name + ".extra"] = Pick(shards);
                return "extra tensor listed";
            case 2:
                map[name] = Pick(shards);
                return $"{name} moved to {map[name]}";
            case 3:
                map[name] = Pick(HostilePaths);
                return $"{name} placed at {Show(map[name])}";
            default:
                map[name] = Value(map[name]);
                return $"{name} -> {Show(map[name])}";
        }
    }

    /// <summary>Shard names that try to leave the model folder or name things that are not shards.</summary>
    private static readonly string[] HostilePaths =
    [
        "../x.safetensors", "/etc/passwd", "sub/dir.safetensors", "sub\\dir.safetensors", "..", ".", "", "config.json",
        "model.safetensors.index.json", "C:x", "nul\0", "missing.safetensors",
    ];

    private string EditArray(JsonObject entry, string field, List<string> names, JsonObject header)
    {
        if (entry[field] is not JsonArray array || random.Next(6) == 0)
        {
            entry[field] = Value(entry[field]);
            return $"= {Show(entry[field])}";
        }
        switch (random.Next(6))
        {
            case 0 when array.Count > 0:
                array.RemoveAt(random.Next(array.Count));
                return "element removed";
            case 1:
                array.Insert(random.Next(array.Count + 1), JsonNode.Parse(Pick(BoundaryNumbers)));
                return "element added";
            case 2 when array.Count > 1:
                var reversed = array.Select(n => n?.DeepClone()).Reverse().ToArray();
                entry[field] = new JsonArray(reversed);
                return "reversed";
            case 3 when header[Pick(names)] is JsonObject donor && donor[field] is JsonNode borrowed:
                entry[field] = borrowed.DeepClone();
                return $"borrowed {Show(borrowed)}";
            default:
                if (array.Count == 0) return "empty, left alone";
                int i = random.Next(array.Count);
                array[i] = AsLong(array[i]) is long n && random.Next(3) > 0 ? Nudge(n) : Value(array[i]);
                return $"[{i}] = {Show(array[i])}";
        }
    }

    private static long? AsLong(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue(out long number) ? number : null;

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string Show(JsonNode? node)
    {
        string text = node?.ToJsonString() ?? "null";
        return text.Length <= 40 ? text : text[..40] + "…";
    }
}
