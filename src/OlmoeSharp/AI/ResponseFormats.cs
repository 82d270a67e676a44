using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using OlmoeSharp.Generation;

namespace OlmoeSharp.AI;

/// <summary>
/// Maps <see cref="ChatResponseFormat"/> onto <see cref="ResponseFormat"/>, keeping the formats of recent schemas
/// (a format caches its token masks, so a schema asked for again — each <c>GetResponseAsync&lt;T&gt;()</c> of one
/// type — masks from the cache).
/// </summary>
internal static class ResponseFormats
{
    private const int MaxKept = 32;

    private static readonly ConcurrentDictionary<string, ResponseFormat> BySchema = new(StringComparer.Ordinal);

    /// <exception cref="ResponseFormatException">The schema cannot constrain generation.</exception>
    public static ResponseFormat For(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatJson { Schema: { } schema } => Kept(schema.GetRawText()),
        ChatResponseFormatJson => ResponseFormat.Json,
        _ => ResponseFormat.Text,
    };

    private static ResponseFormat Kept(string schema)
    {
        if (BySchema.TryGetValue(schema, out var known)) return known;
        var format = ResponseFormat.ForJsonSchema(schema);
        if (BySchema.Count >= MaxKept) BySchema.Clear();
        return BySchema.GetOrAdd(schema, format);
    }
}
