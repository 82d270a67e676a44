using System.Runtime.InteropServices;
using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tensors;
using OlmoeSharp.Tensors.Formats;

namespace OlmoeSharp.Benchmarks;

/// <summary>Random weights quantized to a ggml type in huge-page memory, as the ggml benchmarks multiply them.</summary>
internal static unsafe class GgmlBenchmarkMatrix
{
    /// <summary>
    /// Memory (free it with <see cref="NativeMemory.AlignedFree"/>) holding <paramref name="copies"/> copies of one
    /// rows × cols matrix of <paramref name="type"/>, one after the other; <paramref name="first"/> is the first copy.
    /// </summary>
    public static byte* Allocate(GgmlType type, int rows, int cols, int copies, out WeightMatrix first)
    {
        var format = GgmlTypeLayout.Format(type);
        var quantizer = RowQuantizers.For(format);
        long rowBytes = format.RowBytes(cols), bytes = rowBytes * rows;
        var memory = (byte*)NativeMemory.AlignedAlloc((nuint)(bytes * copies), 2 << 20);
        Loading.MemoryAdvice.UseHugePages(memory, (nuint)(bytes * copies));
        var random = new Random(3);
        var row = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) row[c] = (float)(random.NextDouble() - 0.5) * 0.1f;
            quantizer.QuantizeRow(row, new Span<byte>(memory + r * rowBytes, (int)rowBytes));
        }
        for (int m = 1; m < copies; m++) Buffer.MemoryCopy(memory, memory + m * bytes, bytes, bytes);
        first = new WeightMatrix(format, memory, rows, cols);
        return memory;
    }
}
