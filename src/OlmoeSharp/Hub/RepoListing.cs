using System.Text.Json;
using OlmoeSharp.IO;

namespace OlmoeSharp.Hub;

/// <summary>
/// The hub's answer to <c>GET {endpoint}/api/models/{repo}/revision/{revision}</c> (huggingface_hub's
/// <c>model_info</c>), reduced to what choosing a GGUF file needs: the commit the revision points to (<c>sha</c>) and
/// the files of that commit (<c>siblings[].rfilename</c>).
/// </summary>
/// <param name="Commit">The commit id; every file is then asked for at this commit.</param>
/// <param name="Files">The repo's file paths, as listed (not yet checked with <see cref="RepoFilePath.IsSafe"/>).</param>
internal sealed record RepoListing(string Commit, IReadOnlyList<string> Files)
{
    /// <summary>A hub answer nests model-card metadata a few levels deep; nothing legitimate comes near this.</summary>
    private const int MaxDepth = 64;

    /// <summary>Reads the JSON answer that <paramref name="url"/> gave for <paramref name="repo"/>.</summary>
    /// <exception cref="HubException">The answer is not JSON of that shape (<see cref="HubErrorKind.InvalidResponse"/>).</exception>
    public static RepoListing Parse(ReadOnlyMemory<byte> json, RepoId repo, Uri url)
    {
        HubException Invalid(string detail, Exception? inner = null) =>
            new(HubErrorKind.InvalidResponse, repo.ToString(), null, $"the file list from {url} {detail}", inner);

        JsonDocument document;
        try
        {
            document = UntrustedJson.Parse(json, url.ToString(), MaxDepth);
        }
        catch (ModelFormatException e)
        {
            throw Invalid($"is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Invalid("is not a JSON object.");
            if (!root.TryGetProperty("sha", out var sha) || sha.ValueKind != JsonValueKind.String || !Revision.IsCommitHash(sha.GetString()!))
                throw Invalid("has no commit id in \"sha\"; is the endpoint a Hugging Face hub?");
            if (!root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw Invalid("has no \"siblings\" array of files.");
            var files = new List<string>(siblings.GetArrayLength());
            foreach (var sibling in siblings.EnumerateArray())
            {
                if (sibling.ValueKind != JsonValueKind.Object || !sibling.TryGetProperty("rfilename", out var name) || name.ValueKind != JsonValueKind.String)
                    throw Invalid($"lists a file without a \"rfilename\" string: {UntrustedJson.Excerpt(sibling)}.");
                files.Add(name.GetString()!);
            }
            return new RepoListing(sha.GetString()!, files);
        }
    }
}
