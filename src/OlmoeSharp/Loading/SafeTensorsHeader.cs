using System.Text.Json;
using OlmoeSharp.IO;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>Parses and validates the JSON header of a safetensors file.</summary>
internal static class SafeTensorsHeader
{
    private const string MetadataKey = "__metadata__";

    public static (IReadOnlyDictionary<string, TensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> header, long dataLength, string path)
    {
        // The parser needs memory it can hold on to, not a pointer into the mapping: the header (at most MaxHeaderBytes) is copied.
        var document = UntrustedJson.Parse(header.ToArray(), path, maxDepth: 8);
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(path, $"header is a JSON {root.ValueKind}, not an object.");

            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, metadata, path);
                    continue;
                }
                var tensor = ReadTensor(property.Name, property.Value, dataLength, path);
                if (!tensors.TryAdd(tensor.Name, tensor))
                    throw new ModelFormatException(path, "tensor is declared twice in the header.", tensor.Name);
            }
            CheckNoOverlap(tensors.Values, path);
            return (tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, "must be an object of strings.", MetadataKey);
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException(path, $"metadata value '{entry.Name}' is {UntrustedJson.Excerpt(entry.Value)}, not a string.", MetadataKey);
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static TensorInfo ReadTensor(string name, JsonElement value, long dataLength, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, "header entry is not an object.", name);
        var (dtypeElement, shapeElement, offsets) = ReadFields(name, value, path);

        if (dtypeElement is not { ValueKind: JsonValueKind.String } dtypeString)
            throw new ModelFormatException(path, "missing or non-string dtype.", name);
        string dtypeName = dtypeString.GetString()!;
        if (!TensorDTypes.TryParse(dtypeName, out var dtype))
            throw new ModelFormatException(path, $"unknown dtype {UntrustedJson.Excerpt(dtypeString)}.", name);

        if (shapeElement is not { ValueKind: JsonValueKind.Array } shapeArray)
            throw new ModelFormatException(path, "missing or non-array shape.", name);
        string shapeText = UntrustedJson.Excerpt(shapeArray);
        var shape = new List<long>();
        long elements = 1;
        foreach (var dim in shapeArray.EnumerateArray())
        {
            if (!dim.TryGetInt64Safe(out long d) || d < 0)
                throw new ModelFormatException(path, $"shape {shapeText} has a dimension that is not a non-negative integer.", name);
            shape.Add(d);
            try { elements = checked(elements * d); }
            catch (OverflowException) { throw new ModelFormatException(path, $"shape {shapeText} has more elements than can exist.", name); }
        }
        long bytes;
        try { bytes = checked(elements * dtype.SizeInBytes()); }
        catch (OverflowException) { throw new ModelFormatException(path, $"shape {shapeText} is too large.", name); }

        if (offsets is not { ValueKind: JsonValueKind.Array } offsetArray || offsetArray.GetArrayLength() != 2)
            throw new ModelFormatException(path, "data_offsets must be an array of two integers.", name);
        string offsetsText = UntrustedJson.Excerpt(offsetArray);
        if (!offsetArray[0].TryGetInt64Safe(out long begin) || !offsetArray[1].TryGetInt64Safe(out long end) || begin < 0 || end < 0)
            throw new ModelFormatException(path, $"data_offsets {offsetsText} are not non-negative integers.", name);
        if (begin > end)
            throw new ModelFormatException(path, $"data_offsets {offsetsText} are reversed.", name);
        if (end > dataLength)
            throw new ModelFormatException(path, $"data_offsets {offsetsText} reach past the end of the data ({dataLength} bytes).", name);
        if (end - begin != bytes)
            throw new ModelFormatException(path, $"data_offsets {offsetsText} span {end - begin} bytes but {dtypeName} {shapeText} needs {bytes}.", name);
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>
    /// The dtype, shape and data_offsets of an entry, each given at most once: when a field is repeated, parsers
    /// disagree on which copy counts, and a file that reads differently in two tools is refused outright.
    /// Other fields are ignored.
    /// </summary>
    private static (JsonElement? DType, JsonElement? Shape, JsonElement? Offsets) ReadFields(string name, JsonElement entry, string path)
    {
        JsonElement? dtype = null, shape = null, offsets = null;
        foreach (var field in entry.EnumerateObject())
        {
            if (field.NameEquals("dtype")) Take(ref dtype, field);
            else if (field.NameEquals("shape")) Take(ref shape, field);
            else if (field.NameEquals("data_offsets")) Take(ref offsets, field);
        }
        return (dtype, shape, offsets);

        void Take(ref JsonElement? slot, JsonProperty field)
        {
            if (slot is not null) throw new ModelFormatException(path, $"{field.Name} is given twice.", name);
            slot = field.Value;
        }
    }

    private static bool TryGetInt64Safe(this JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }

    private static void CheckNoOverlap(IEnumerable<TensorInfo> tensors, string path)
    {
        TensorInfo? previous = null;
        foreach (var tensor in tensors.Where(t => t.DataEnd > t.DataStart).OrderBy(t => t.DataStart))
        {
            if (previous is not null && tensor.DataStart < previous.DataEnd)
                throw new ModelFormatException(path, $"its bytes overlap those of '{previous.Name}'.", tensor.Name);
            previous = tensor;
        }
    }
}
