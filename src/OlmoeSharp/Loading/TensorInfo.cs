using OlmoeSharp.Tensors;

namespace OlmoeSharp.Loading;

/// <summary>One tensor as a safetensors header declares it (validated: its span lies inside the file and matches its shape).</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its dimensions, outermost first.</param>
/// <param name="DataStart">Offset of its first byte, relative to the start of the data section.</param>
/// <param name="DataEnd">Offset one past its last byte, relative to the start of the data section.</param>
public sealed record TensorInfo(string Name, TensorDType DType, IReadOnlyList<long> Shape, long DataStart, long DataEnd)
{
    /// <summary>Number of elements (the product of the shape; 1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long d in Shape) count *= d;
            return count;
        }
    }

    /// <summary>The shape as safetensors prints it, e.g. [2048, 1024].</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
