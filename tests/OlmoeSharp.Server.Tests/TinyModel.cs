using OlmoeSharp.Checkpoints;

namespace OlmoeSharp.Server.Tests;

/// <summary>
/// The tiny random checkpoint (full vocabulary, 512 positions) with OLMoE's tokenizer, written once per test run
/// the way the server writes its default model, and removed when the run ends.
/// </summary>
internal static class TinyModel
{
    private static readonly Lazy<string> Written = new(() =>
    {
        string folder = Path.Combine(Path.GetTempPath(), $"olmoe-server-tests-{Environment.ProcessId}", "tiny-random");
        RandomDefaultModel.Ensure(folder, RandomCheckpoint.Tiny);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Path.GetDirectoryName(folder)!, recursive: true); }
            catch (IOException) { }
        };
        return folder;
    });

    public static string Folder => Written.Value;

    /// <summary>The id the server reports for it: its folder's name.</summary>
    public const string Id = "tiny-random";
}
