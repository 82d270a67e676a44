using System.Text.Json;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>Parses and validates the JSON header of a safetensors file.</summary>
internal static class SafeTensorsHeader
{
    private const string MetadataKey = "__metadata__";

    public static (IReadOnlyDictionary<string, TensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> header, long dataLength, string path)
    {
        // The header is at most MaxHeaderBytes; copying it lets the parser reject trailing garbage after the object.
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
                throw new ModelFormatException(path, $"metadata value '{entry.Name}' is not a string.", MetadataKey);
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static TensorInfo ReadTensor(string name, JsonElement value, long dataLength, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, "header entry is not an object.", name);

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new ModelFormatException(path, "missing or non-string dtype.", name);
        string dtypeName = dtypeElement.GetString()!;
        if (!TensorDTypes.TryParse(dtypeName, out var dtype))
            throw new ModelFormatException(path, $"unknown dtype \"{dtypeName}\".", name);

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException(path, "missing or non-array shape.", name);
        var shape = new List<long>();
        long elements = 1;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d) || d < 0)
                throw new ModelFormatException(path, $"shape {shapeElement.GetRawText()} has a dimension that is not a non-negative integer.", name);
            shape.Add(d);
            try { elements = checked(elements * d); }
            catch (OverflowException) { throw new ModelFormatException(path, $"shape {shapeElement.GetRawText()} has more elements than can exist.", name); }
        }
        long bytes;
        try { bytes = checked(elements * dtype.SizeInBytes()); }
        catch (OverflowException) { throw new ModelFormatException(path, $"shape {shapeElement.GetRawText()} is too large.", name); }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new ModelFormatException(path, "data_offsets must be an array of two integers.", name);
        if (!offsets[0].TryGetInt64Safe(out long begin) || !offsets[1].TryGetInt64Safe(out long end) || begin < 0 || end < 0)
            throw new ModelFormatException(path, $"data_offsets {offsets.GetRawText()} are not non-negative integers.", name);
        if (begin > end)
            throw new ModelFormatException(path, $"data_offsets {offsets.GetRawText()} are reversed.", name);
        if (end > dataLength)
            throw new ModelFormatException(path, $"data_offsets {offsets.GetRawText()} reach past the end of the data ({dataLength} bytes).", name);
        if (end - begin != bytes)
            throw new ModelFormatException(path, $"data_offsets {offsets.GetRawText()} span {end - begin} bytes but {dtypeName} {shapeElement.GetRawText()} needs {bytes}.", name);
        return new TensorInfo(name, dtype, shape, begin, end);
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
