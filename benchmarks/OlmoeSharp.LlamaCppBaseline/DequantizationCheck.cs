using OlmoeSharp.Loading.Gguf;
using OlmoeSharp.Tensors;

namespace OlmoeSharp.LlamaCppBaseline;

/// <summary>
/// OlmoeSharp's dequantization of a GGUF file against llama.cpp's own (an F32 copy of the file written by
/// llama_model_quantize): every value of every tensor, compared as bits.
/// </summary>
internal static unsafe class DequantizationCheck
{
    public static (int Tensors, int Mismatched, double Worst) Run(string quantizedPath, string f32Path, Action<string> report)
    {
        using var quantized = GgufFile.Open(quantizedPath);
        using var reference = GgufFile.Open(f32Path);
        int mismatched = 0;
        double worst = 0;
        foreach (var tensor in quantized.Tensors)
        {
            var expected = reference.GetTensor(tensor.Name);
            if (expected.Type != GgmlType.F32 || !expected.Dimensions.SequenceEqual(tensor.Dimensions))
                throw new InvalidDataException($"{f32Path}: {tensor.Name} is {expected.Type} {expected.ShapeText}, not F32 {tensor.ShapeText}.");
            int cols = (int)tensor.Dimensions[0];
            int rows = (int)(tensor.ElementCount / cols);
            var matrix = new WeightMatrix(GgmlTypeLayout.Format(tensor.Type), quantized.DataPointer(tensor), rows, cols);
            float* want = (float*)reference.DataPointer(expected);
            var row = new float[cols];
            long differing = 0;
            for (int r = 0; r < rows; r++)
            {
                MatVec.WidenRow(matrix, r, row);
                for (int c = 0; c < cols; c++)
                {
                    float w = want[(long)r * cols + c];
                    if (BitConverter.SingleToInt32Bits(w) == BitConverter.SingleToInt32Bits(row[c])) continue;
                    differing++;
                    worst = Math.Max(worst, Math.Abs(w - row[c]));
                }
            }
            if (differing > 0)
            {
                mismatched++;
                report($"{tensor.Name} ({tensor.Type}): {differing} of {tensor.ElementCount} values differ");
            }
        }
        return (quantized.Tensors.Count, mismatched, worst);
    }
}
