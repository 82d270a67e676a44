using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>
/// A checkpoint's tensors looked up by their Hugging Face names (<see cref="Model.TensorNames"/>), whatever the files
/// call them: safetensors folders (<see cref="CheckpointFiles"/>) or a GGUF file (<see cref="Gguf.GgufCheckpoint"/>).
/// Views stay valid until it is disposed.
/// </summary>
internal interface ICheckpointTensors : IDisposable
{
    /// <summary>Total bytes of tensor data in the files.</summary>
    long DataBytes { get; }

    /// <summary>Number of files opened.</summary>
    int FileCount { get; }

    /// <summary>Whether a tensor of this Hugging Face name exists.</summary>
    bool Contains(string name);

    /// <summary>A tensor as a [rows, cols] matrix view; its shape (outermost first) must be exactly <paramref name="expectedShape"/>.</summary>
    WeightMatrix Matrix(string name, params ReadOnlySpan<long> expectedShape);

    /// <summary>A 1-D tensor of length <paramref name="length"/> widened to float32 (norm weights: small, read every token).</summary>
    float[] Vector(string name, int length)
    {
        var values = new float[length];
        MatVec.WidenRow(Matrix(name, length), 0, values);
        return values;
    }
}
