namespace OlmoeSharp.Tensors;

/// <summary>
/// The kernels' scratch memory, one set per thread. It lives here, not with a session's activations
/// (<c>Model.RunState</c>), because the worker threads are the model's and serve every session in turn: a buffer
/// per thread is all any kernel call needs, and it is only ever used inside one call. Each buffer grows to the
/// largest request and is then reused, so steady-state decoding allocates nothing.
/// </summary>
internal static class ThreadScratch
{
    [ThreadStatic] private static float[]? t_tokenPanels;
    [ThreadStatic] private static float[]? t_rowPanel;
    [ThreadStatic] private static float[]? t_row;
    [ThreadStatic] private static ushort[]? t_gemmRows;
    [ThreadStatic] private static ushort[]? t_decodedRow;
    [ThreadStatic] private static Formats.Int16Activations[]? t_activationSet;

    /// <summary>The GEMM's interleaved token panels.</summary>
    public static float[] TokenPanels(int length) => Get(ref t_tokenPanels, length);

    /// <summary>The GEMM's panel of four widened weight rows.</summary>
    public static float[] RowPanel(int length) => Get(ref t_rowPanel, length);

    /// <summary>One weight row widened to float32 before it is interleaved into a panel.</summary>
    public static float[] Row(int length) => Get(ref t_row, length);

    /// <summary>A block of weight rows decoded to bf16 for the GEMM.</summary>
    public static ushort[] GemmRows(int length) => Get(ref t_gemmRows, length);

    /// <summary>One weight row decoded to bf16 by a mat-vec or widening kernel (never while <see cref="GemmRows"/> is in use by the same call).</summary>
    public static ushort[] DecodedRow(int length) => Get(ref t_decodedRow, length);

    /// <summary>At least <paramref name="count"/> int16 activation buffers, one per token of a row-by-row product of a few tokens.</summary>
    public static Formats.Int16Activations[] Int16ActivationSet(int count)
    {
        var set = t_activationSet;
        if (set is not null && set.Length >= count) return set;
        var grown = new Formats.Int16Activations[count];
        for (int i = 0; i < count; i++) grown[i] = set is not null && i < set.Length ? set[i] : new Formats.Int16Activations();
        return t_activationSet = grown;
    }

    private static T[] Get<T>(ref T[]? buffer, int length) =>
        buffer is { } b && b.Length >= length ? b : buffer = new T[length];
}
