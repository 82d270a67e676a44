using System.Text.Json;

namespace OlmoeSharp.Loading;

/// <summary>Parses JSON from a model file that may be hostile: bounded depth, no trailing content, typed errors.</summary>
internal static class UntrustedJson
{
    /// <exception cref="ModelFormatException">The text is not one well-formed JSON value within the depth limit.</exception>
    public static JsonDocument Parse(ReadOnlyMemory<byte> json, string source, int maxDepth)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(source, $"not valid JSON: {e.Message}", inner: e);
        }
    }
}
