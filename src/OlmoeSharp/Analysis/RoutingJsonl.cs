using System.Buffers;
using System.Text;
using System.Text.Json;

namespace OlmoeSharp.Analysis;

/// <summary>
/// The raw routing as JSON lines, one per input, position and layer, in that order:
/// <c>{"input": i, "position": p, "token": id, "layer": l, "experts": [...], "weights": [...]}</c>, the experts in
/// the router's order of preference and the weights in theirs. Weights are written as the shortest text that reads
/// back as the same float32, so <see cref="Read"/> returns exactly what <see cref="Write"/> was given.
/// </summary>
public static class RoutingJsonl
{
    private const int FlushBytes = 1 << 16;

    /// <summary>Writes <paramref name="routings"/> (input i = the i-th) to <paramref name="stream"/> as UTF-8 JSON lines.</summary>
    public static void Write(Stream stream, IReadOnlyList<InputRouting> routings)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(routings);
        var buffer = new ArrayBufferWriter<byte>(2 * FlushBytes);
        using var json = new Utf8JsonWriter(buffer);
        for (int i = 0; i < routings.Count; i++)
        {
            var routing = routings[i];
            for (int p = 0; p < routing.Length; p++)
                for (int l = 0; l < routing.Layers; l++)
                {
                    json.WriteStartObject();
                    json.WriteNumber("input", i);
                    json.WriteNumber("position", p);
                    json.WriteNumber("token", routing.Tokens[p]);
                    json.WriteNumber("layer", l);
                    json.WriteStartArray("experts");
                    foreach (ushort e in routing.Experts(p, l)) json.WriteNumberValue(e);
                    json.WriteEndArray();
                    json.WriteStartArray("weights");
                    foreach (float w in routing.Weights(p, l)) json.WriteNumberValue(w);
                    json.WriteEndArray();
                    json.WriteEndObject();
                    json.Flush();
                    buffer.Write("\n"u8);
                    json.Reset(buffer);
                    if (buffer.WrittenCount >= FlushBytes)
                    {
                        stream.Write(buffer.WrittenSpan);
                        buffer.ResetWrittenCount();
                    }
                }
        }
        stream.Write(buffer.WrittenSpan);
        stream.Flush();
    }

    /// <summary>
    /// Reads routing written by <see cref="Write"/>: lines in its order (inputs from 0, each one's positions from 0,
    /// each position's layers from 0), the number of layers taken from the first position and the experts per token
    /// from the first line. Blank lines are skipped; other fields are ignored.
    /// </summary>
    /// <param name="stream">UTF-8 JSON lines.</param>
    /// <param name="sourceName">Names the source in error messages and the inputs ("source input i").</param>
    /// <param name="numExperts">Experts per layer of the model that routed (every id must be below it).</param>
    /// <exception cref="FormatException">A line that is not such an object, out of order, or inconsistent with the ones before; the message names the line.</exception>
    public static IReadOnlyList<InputRouting> Read(Stream stream, string sourceName, int numExperts)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentOutOfRangeException.ThrowIfLessThan(numExperts, 1);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var routings = new List<InputRouting>();
        var tokens = new List<int>();
        var experts = new List<ushort>();
        var weights = new List<float>();
        int layers = 0, k = 0, input = 0, position = 0, layer = -1, lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string where = $"{sourceName} line {lineNumber}";
            var entry = Parse(line, where, numExperts);
            if (k == 0) k = entry.Experts.Length;
            if (entry.Experts.Length != k)
                throw new FormatException($"{where}: {entry.Experts.Length} experts where the first line has {k}.");

            // The line must continue the current position, start the next one, or start the next input.
            bool positionDone = layers > 0 ? layer == layers - 1 : layer >= 0;
            if (entry.Input == input && entry.Position == position && entry.Layer == layer + 1 && (layers == 0 || entry.Layer < layers))
            {
                if (entry.Layer > 0 && entry.Token != tokens[^1])
                    throw new FormatException($"{where}: token {entry.Token} at position {position}, where layer 0 has {tokens[^1]}.");
            }
            else if (positionDone && entry.Layer == 0 && (entry.Input == input && entry.Position == position + 1 || entry.Input == input + 1 && entry.Position == 0))
            {
                if (layers == 0) layers = layer + 1;
                if (entry.Input != input)
                {
                    routings.Add(Complete());
                    input = entry.Input;
                }
                position = entry.Position;
            }
            else
            {
                throw new FormatException($"{where}: input {entry.Input}, position {entry.Position}, layer {entry.Layer} does not follow input {input}, position {position}, layer {layer}"
                    + $"{(layers > 0 ? $" ({layers} layers per position)" : "")}: lines must come in the order written (inputs, positions and layers from 0).");
            }
            if (entry.Layer == 0) tokens.Add(entry.Token);
            layer = entry.Layer;
            experts.AddRange(entry.Experts);
            weights.AddRange(entry.Weights);
        }
        if (layer < 0) return routings;
        if (layers == 0) layers = layer + 1;
        if (layer != layers - 1)
            throw new FormatException($"{sourceName}: ends at layer {layer} of position {position} of input {input}; every position has {layers} layers.");
        routings.Add(Complete());
        return routings;

        InputRouting Complete()
        {
            var routing = new InputRouting($"{sourceName} input {input}", [.. tokens], layers, k, numExperts, [.. experts], [.. weights]);
            tokens.Clear();
            experts.Clear();
            weights.Clear();
            return routing;
        }
    }

    private readonly record struct Entry(int Input, int Position, int Token, int Layer, ushort[] Experts, float[] Weights);

    private static Entry Parse(string line, string where, int numExperts)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"{where}: not a JSON object.");
            var expertArray = Array(root, "experts", where);
            var weightArray = Array(root, "weights", where);
            if (expertArray.GetArrayLength() == 0) throw new FormatException($"{where}: \"experts\" is empty.");
            if (weightArray.GetArrayLength() != expertArray.GetArrayLength())
                throw new FormatException($"{where}: {weightArray.GetArrayLength()} weights for {expertArray.GetArrayLength()} experts.");
            var experts = new ushort[expertArray.GetArrayLength()];
            int i = 0;
            foreach (var e in expertArray.EnumerateArray())
            {
                if (!e.TryGetInt32(out int id) || id < 0 || id >= numExperts)
                    throw new FormatException($"{where}: expert {e.GetRawText()} is not an id below num_experts = {numExperts}.");
                if (experts.AsSpan(0, i).Contains((ushort)id)) throw new FormatException($"{where}: expert {id} is listed twice.");
                experts[i++] = (ushort)id;
            }
            var weights = new float[experts.Length];
            i = 0;
            foreach (var w in weightArray.EnumerateArray())
                weights[i++] = w.ValueKind == JsonValueKind.Number && w.TryGetSingle(out float value) && float.IsFinite(value)
                    ? value
                    : throw new FormatException($"{where}: weight {w.GetRawText()} is not a finite number.");
            return new Entry(Count(root, "input", where), Count(root, "position", where), Count(root, "token", where), Count(root, "layer", where), experts, weights);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{where}: not valid JSON ({e.Message})", e);
        }
    }

    private static int Count(JsonElement root, string name, string where) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 0
            ? n
            : throw new FormatException($"{where}: \"{name}\" must be a non-negative integer.");

    private static JsonElement Array(JsonElement root, string name, string where) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value
            : throw new FormatException($"{where}: \"{name}\" must be an array.");
}
