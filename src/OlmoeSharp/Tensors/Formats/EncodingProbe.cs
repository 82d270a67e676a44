using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OlmoeSharp.Tensors.Formats;

/// <summary>
/// Measures, on this CPU, how fast an encoded format's matrix × vector kernel runs against the stored format's, on
/// a slice of a real matrix — a few MB, past the core's own caches but inside the last-level cache, where the stored
/// kernel is already bound by bytes and the encoded one shows whether its decoding keeps up. Where it does, the model
/// decodes faster from the smaller copy; where it does not, the copy is slower however few its bytes. (A slice that
/// fits in L2 made both kernels compute-bound and hid the difference: 1.0× on AVX-512, where packed decodes 1.2×
/// faster.) Takes about 20 ms; one thread, best of several alternating rounds, so a busy machine biases neither side.
/// </summary>
internal static unsafe class EncodingProbe
{
    /// <summary>Rows of the sample: 1024 × 2048 bf16 values are 4 MB.</summary>
    private const int SampleRows = 1024;
    private const int PassesPerRound = 8;
    private const int Rounds = 5;

    /// <summary>Weights per second of the stored and the encoded kernel on rows of <paramref name="source"/>.</summary>
    public static (double Stored, double Encoded) Measure(in WeightMatrix source, WeightEncoder encoder)
    {
        var sample = source.Slice(0, Math.Min(SampleRows, source.Rows));
        long bytes = encoder.EncodedBytes(sample, 64);
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        try
        {
            var encoded = encoder.Encode(sample, memory, 64);
            var x = new float[sample.Cols];
            var y = new float[sample.Rows];
            for (int i = 0; i < x.Length; i++) x[i] = MathF.Sin(i);
            double stored = double.MaxValue, packed = double.MaxValue;
            for (int round = 0; round < Rounds; round++)
            {
                // Alternating, so a disturbance hits both alike.
                stored = Math.Min(stored, Time(sample, x, y));
                packed = Math.Min(packed, Time(encoded, x, y));
            }
            double weights = (double)sample.Rows * sample.Cols;
            return (weights / stored, weights / packed);
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    /// <summary>Seconds per product, over a round of passes (the first pass of each round warms the cache).</summary>
    private static double Time(in WeightMatrix w, float[] x, float[] y)
    {
        MatVec.MultiplyRows(w, x, y, 0, w.Rows);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < PassesPerRound; i++) MatVec.MultiplyRows(w, x, y, 0, w.Rows);
        return Stopwatch.GetElapsedTime(start).TotalSeconds / PassesPerRound;
    }
}
