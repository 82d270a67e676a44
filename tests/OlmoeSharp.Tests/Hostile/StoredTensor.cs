using OlmoeSharp.Loading;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.Tests.Hostile;

/// <summary>A tensor read out of a safetensors file into memory, to be changed and written back.</summary>
internal sealed record StoredTensor(string Name, TensorDType DType, long[] Shape, byte[] Data)
{
    /// <summary>Every tensor of a file, in data order.</summary>
    public static List<StoredTensor> ReadAll(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return file.Tensors.Values
            .OrderBy(t => t.DataStart)
            .Select(t => new StoredTensor(t.Name, t.DType, t.Shape.ToArray(), file.GetBytes(t).ToArray()))
            .ToList();
    }

    /// <summary>This tensor with another shape and type, zero-filled to the size they need.</summary>
    public StoredTensor Reshaped(TensorDType dtype, params long[] shape) =>
        this with { DType = dtype, Shape = shape, Data = new byte[shape.Aggregate(1L, (a, b) => a * b) * dtype.SizeInBytes()] };

    /// <summary>This tensor with another shape of the same type, zero-filled to the size it needs.</summary>
    public StoredTensor Reshaped(params long[] shape) => Reshaped(DType, shape);

    /// <summary>The tensor in the form <see cref="SafeTensorsWriter"/> takes.</summary>
    public TensorToWrite ToWrite() => new(Name, DType, Shape, (span, offset) => Data.AsSpan((int)offset, span.Length).CopyTo(span));
}
