using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using OlmoeSharp.Loading;
using OlmoeSharp.Tests.Hostile;

namespace OlmoeSharp.Tests.Fuzzing;

/// <summary>
/// Breaks the files of a checkpoint (held in memory, name → bytes) the ways the fuzzer tries: byte flips in the
/// length prefix, header and data; truncation; splicing two files; structured edits of the safetensors header,
/// config.json and the index; stray fragments in JSON text; deleted files. Each mutation returns a description.
/// </summary>
internal sealed class CheckpointMutator(Random random, IReadOnlyList<byte[]> spliceDonors)
{
    private const string Config = HostileCheckpoint.ConfigFile;
    private const string Index = HostileCheckpoint.Index;

    /// <summary>Bytes worth writing into JSON: structure characters, quotes, escapes, digits, and bytes that are not UTF-8.</summary>
    private static readonly byte[] InterestingBytes = "{}[]\",:\\-+.eE0123456789 \0"u8.ToArray().Concat(new byte[] { 0x80, 0xBF, 0xC0, 0xED, 0xF4, 0xFF }).ToArray();

    /// <summary>Text spliced into JSON at a random point.</summary>
    private static readonly byte[][] Fragments =
    [
        "\\ud800"u8.ToArray(), "\\udfff"u8.ToArray(), "\\u0000"u8.ToArray(), "\\\""u8.ToArray(), "\\"u8.ToArray(),
        "\""u8.ToArray(), "{"u8.ToArray(), "}"u8.ToArray(), "["u8.ToArray(), "]"u8.ToArray(), ","u8.ToArray(),
        ":"u8.ToArray(), "-"u8.ToArray(), "9"u8.ToArray(), "e9"u8.ToArray(), "null"u8.ToArray(), [0xFF], [0xC0, 0x80],
        [0xED, 0xA0, 0x80], [0xE2, 0x82],
    ];

    private readonly JsonMutator _json = new(random);

    /// <summary>Applies one random mutation to <paramref name="files"/>.</summary>
    public string Mutate(Dictionary<string, byte[]> files)
    {
        var tensorFiles = files.Keys.Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var jsonFiles = files.Keys.Where(f => f is Config or Index).Order(StringComparer.Ordinal).ToList();
        int kind = random.Next(100);
        if (tensorFiles.Count == 0 || jsonFiles.Count == 0 || kind < 2) return DeleteFile(files);
        string weights = Pick(tensorFiles);
        string json = Pick(jsonFiles);
        return kind switch
        {
            < 17 => $"{weights}: {EditHeader(files, weights)}",
            < 20 => $"{weights}: {AliasKey(files, weights)}",
            < 34 => $"{weights}: {FlipHeaderBytes(files, weights)}",
            < 42 => $"{weights}: {EditLengthPrefix(files, weights)}",
            < 50 => $"{weights}: {Truncate(files, weights)}",
            < 56 => $"{weights}: {Splice(files, weights)}",
            < 62 => $"{weights}: {FlipDataBytes(files, weights)}",
            < 80 => $"{Config}: {EditConfig(files)}",
            < 88 when files.ContainsKey(Index) => $"{Index}: {EditIndex(files, tensorFiles)}",
            < 94 => $"{json}: {FlipBytes(files, json, 0, files[json].Length)}",
            _ => $"{json}: {InsertFragment(files, json)}",
        };
    }

    private string DeleteFile(Dictionary<string, byte[]> files)
    {
        if (files.Count == 0) return "nothing left to delete";
        string file = Pick(files.Keys.Order(StringComparer.Ordinal).ToList());
        files.Remove(file);
        return $"{file} deleted";
    }

    /// <summary>The header of a safetensors file that still splits cleanly, or null.</summary>
    private static SafeTensorsBytes? TrySplit(byte[] file)
    {
        if (file.Length < SafeTensorsBytes.PrefixBytes) return null;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return length <= (ulong)(file.Length - SafeTensorsBytes.PrefixBytes) ? SafeTensorsBytes.Split(file) : null;
    }

    private string EditHeader(Dictionary<string, byte[]> files, string name)
    {
        if (TrySplit(files[name]) is not { } split) return FlipHeaderBytes(files, name);
        // Now and then the old length prefix is kept, so it no longer matches the header.
        ulong? declared = random.Next(8) == 0 ? (ulong)split.Header.Length : null;
        string? edit = EditStructured(split.Header, _json.EditHeader, edited => files[name] = SafeTensorsBytes.Compose(edited, split.Data, declared));
        if (edit is null) return FlipHeaderBytes(files, name);
        return declared is null ? edit : edit + " (stale length)";
    }

    /// <summary>
    /// Renames one key of the header text to another key of it — a tensor to another tensor, or one entry field to
    /// another — giving the same key twice, which no edit of a parsed JSON object can express.
    /// </summary>
    private string AliasKey(Dictionary<string, byte[]> files, string name)
    {
        if (TrySplit(files[name]) is not { } split) return FlipHeaderBytes(files, name);
        string text = Encoding.UTF8.GetString(split.Header);
        string[] keys = random.Next(2) == 0
            ? ["\"dtype\":", "\"shape\":", "\"data_offsets\":"]
            : Regex.Matches(text, "\"([^\"]+)\":\\{").Select(m => m.Value).ToArray();
        if (keys.Length < 2) return FlipHeaderBytes(files, name);
        string from = Pick(keys), to = Pick(keys);
        int at = text.IndexOf(from, StringComparison.Ordinal);
        if (at < 0) return FlipHeaderBytes(files, name);
        text = string.Concat(text.AsSpan(0, at), to, text.AsSpan(at + from.Length));
        files[name] = SafeTensorsBytes.Compose(Encoding.UTF8.GetBytes(text), split.Data);
        return $"key {from} renamed {to}";
    }

    private string FlipHeaderBytes(Dictionary<string, byte[]> files, string name)
    {
        byte[] file = files[name];
        int headerEnd = TrySplit(file)?.DataStart ?? file.Length;
        return FlipBytes(files, name, Math.Min(SafeTensorsBytes.PrefixBytes, file.Length), headerEnd);
    }

    private string FlipDataBytes(Dictionary<string, byte[]> files, string name)
    {
        byte[] file = files[name];
        int dataStart = TrySplit(file)?.DataStart ?? file.Length;
        if (dataStart >= file.Length) return FlipHeaderBytes(files, name);
        var copy = (byte[])file.Clone();
        int count = 1 + random.Next(64);
        for (int i = 0; i < count; i++) copy[random.Next(dataStart, copy.Length)] = (byte)random.Next(256);
        // NaN and infinity in every float width.
        for (int i = random.Next(3); i > 0; i--) copy[random.Next(dataStart, copy.Length)] = 0xFF;
        files[name] = copy;
        return $"{count} data bytes changed";
    }

    /// <summary>Sets 1–4 bytes in [from, to) to random or interesting values, or flips one bit of each.</summary>
    private string FlipBytes(Dictionary<string, byte[]> files, string name, int from, int to)
    {
        if (to <= from) return Truncate(files, name);
        var copy = (byte[])files[name].Clone();
        var changes = new List<string>();
        for (int i = 1 + random.Next(4); i > 0; i--)
        {
            int at = random.Next(from, to);
            copy[at] = random.Next(3) switch
            {
                0 => (byte)(copy[at] ^ (1 << random.Next(8))),
                1 => Pick(InterestingBytes),
                _ => (byte)random.Next(256),
            };
            changes.Add($"[{at}]=0x{copy[at]:X2}");
        }
        files[name] = copy;
        return string.Join(" ", changes);
    }

    private string InsertFragment(Dictionary<string, byte[]> files, string name)
    {
        byte[] file = files[name];
        byte[] fragment = Pick(Fragments);
        // Inside a string (just after a quote) is where decoding, not parsing, has to catch it.
        var quotes = Enumerable.Range(0, file.Length).Where(i => file[i] == (byte)'"').ToList();
        int at = quotes.Count > 0 && random.Next(3) > 0 ? Pick(quotes) + 1 : random.Next(file.Length + 1);
        files[name] = [.. file.AsSpan(0, at), .. fragment, .. file.AsSpan(at)];
        return $"inserted {Encoding.Latin1.GetString(fragment)} at {at}";
    }

    private string EditLengthPrefix(Dictionary<string, byte[]> files, string name)
    {
        byte[] file = files[name];
        if (file.Length < SafeTensorsBytes.PrefixBytes) return Truncate(files, name);
        var copy = (byte[])file.Clone();
        ulong current = BinaryPrimitives.ReadUInt64LittleEndian(copy);
        ulong length = (ulong)copy.Length;
        ulong declared = random.Next(12) switch
        {
            0 => 0,
            1 => current + (ulong)random.Next(1, 9),
            2 => current - (ulong)random.Next(1, 9),
            3 => length,
            4 => length - 8,
            5 => length - 7,
            6 => 1UL << 62,
            7 => 1UL << 63,
            8 => ulong.MaxValue,
            9 => (ulong)SafeTensorsFile.MaxHeaderBytes + 1,
            10 => current ^ (1UL << random.Next(64)),
            _ => (ulong)random.NextInt64(),
        };
        BinaryPrimitives.WriteUInt64LittleEndian(copy, declared);
        files[name] = copy;
        return $"header length {current} -> {declared}";
    }

    private string Truncate(Dictionary<string, byte[]> files, string name)
    {
        byte[] file = files[name];
        // Half the cuts land in the framing and header, where the structure is; the rest anywhere.
        int nearHeader = Math.Min(file.Length, (TrySplit(file)?.DataStart ?? 0) + 64);
        int length = random.Next(2) == 0 ? random.Next(nearHeader + 1) : random.Next(file.Length + 1);
        files[name] = file[..length];
        return $"truncated to {length} of {file.Length} bytes";
    }

    private string Splice(Dictionary<string, byte[]> files, string name)
    {
        byte[] head = files[name];
        byte[] tail = Pick(spliceDonors);
        int headCut = SpliceCut(head), tailCut = SpliceCut(tail);
        files[name] = [.. head.AsSpan(0, headCut), .. tail.AsSpan(tailCut)];
        return $"first {headCut} bytes + another file from byte {tailCut}";
    }

    /// <summary>A cut point, usually near the end of the header where a splice makes the most interesting lies.</summary>
    private int SpliceCut(byte[] file)
    {
        int dataStart = TrySplit(file)?.DataStart ?? file.Length;
        return random.Next(2) == 0
            ? Math.Clamp(dataStart + random.Next(-256, 257), 0, file.Length)
            : random.Next(file.Length + 1);
    }

    private string EditConfig(Dictionary<string, byte[]> files)
    {
        if (!files.TryGetValue(Config, out byte[]? text)) return "no config to edit";
        int edits = random.Next(4) == 0 ? random.Next(2, 5) : 1;
        return EditStructured(text, config => string.Join("; ", Enumerable.Range(0, edits).Select(_ => _json.EditMember(config, ExtraConfigKeys))),
                   edited => files[Config] = edited)
               ?? FlipBytes(files, Config, 0, text.Length);
    }

    /// <summary>Fields a config may have that the written ones lack.</summary>
    private static readonly string[] ExtraConfigKeys = ["rope_scaling", "rope_parameters", "head_dim", "attention_bias", "clip_qkv", "bos_token_id"];

    private string EditIndex(Dictionary<string, byte[]> files, IReadOnlyList<string> shards)
    {
        byte[] text = files[Index];
        return EditStructured(text, index => _json.EditIndex(index, shards), edited => files[Index] = edited)
               ?? FlipBytes(files, Index, 0, text.Length);
    }

    /// <summary>
    /// Parses <paramref name="json"/> as an object, edits it and stores the re-serialized bytes; null when an earlier
    /// mutation left JSON that System.Text.Json.Nodes cannot take (the caller then edits bytes instead).
    /// </summary>
    private static string? EditStructured(byte[] json, Func<JsonObject, string> edit, Action<byte[]> store)
    {
        try
        {
            if (JsonNode.Parse(json) is not JsonObject root) return null;
            string description = edit(root);
            store(Encoding.UTF8.GetBytes(root.ToJsonString()));
            return description;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
