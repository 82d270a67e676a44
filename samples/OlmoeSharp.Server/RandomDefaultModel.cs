using OlmoeSharp.Checkpoints;

namespace OlmoeSharp.Server;

/// <summary>
/// The model the server runs without <c>--model</c>: the CLI's small random checkpoint (same folder, so either
/// makes it once for both) with OLMoE's real tokenizer, so every endpoint works offline — the words are gibberish.
/// </summary>
internal static class RandomDefaultModel
{
    public static readonly string Folder = Path.Combine("models", "olmoe-small-random");

    /// <summary>Writes a random checkpoint of <paramref name="config"/> with the tokenizer into <paramref name="folder"/> unless it is there.</summary>
    public static string Ensure(string folder, Model.OlmoeConfig config)
    {
        if (File.Exists(Path.Combine(folder, "config.json")) && File.Exists(Path.Combine(folder, "tokenizer.json"))) return folder;
        RandomCheckpoint.Write(folder, config);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Assets", "olmoe-tokenizer.json"), Path.Combine(folder, "tokenizer.json"), overwrite: true);
        return folder;
    }
}
