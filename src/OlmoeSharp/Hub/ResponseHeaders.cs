namespace OlmoeSharp.Hub;

/// <summary>Reads a header of a response wherever HttpClient filed it (response headers or content headers).</summary>
internal static class ResponseHeaders
{
    /// <summary>The first value of header <paramref name="name"/>, or null when absent.</summary>
    public static string? FirstHeader(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? contentValues.FirstOrDefault()
        : null;
}
