namespace OlmoeSharp.Cli;

/// <summary>Turns a --model argument into a loaded model.</summary>
internal static class ModelLoading
{
    public static Task<OlmoeModel> LoadAsync(string model, int threads, bool preload, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(OlmoeModel.Load(model, new ModelLoadOptions
        {
            Threads = threads,
            Residency = preload ? WeightResidency.Preloaded : WeightResidency.Mapped,
        }));
    }
}
