using OlmoeSharp.Loading;

namespace OlmoeSharp.Tests;

/// <summary>A tiny random OLMoE checkpoint with the real tokenizer, written once and shared by a test class.</summary>
public sealed class TinyModelFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public TinyModelFixture()
    {
        RandomCheckpoint.Write(_directory.Path, RandomCheckpoint.Tiny, new RandomCheckpointOptions { Seed = 99 });
        File.Copy(SharedData.Path("tokenizers", "allenai_gpt-neox-olmo-dolma-v1_5.json"), _directory.File("tokenizer.json"));
        Model = OlmoeModel.Load(_directory.Path);
    }

    public string Directory => _directory.Path;

    public OlmoeModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        _directory.Dispose();
    }
}
