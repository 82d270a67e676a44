namespace OlmoeSharp.Telemetry;

/// <summary>
/// One intermediate of one sequence's tokens in one layer, as computed: a view of the forward pass's own buffer, valid
/// only during <see cref="IActivationObserver.OnActivation"/>.
/// </summary>
public readonly ref struct Activation
{
    internal Activation(ActivationName name, int layer, int position, int tokens, int width, ReadOnlySpan<float> values)
    {
        Name = name;
        Layer = layer;
        Position = position;
        Tokens = tokens;
        Width = width;
        Values = values;
    }

    /// <summary>Which intermediate.</summary>
    public ActivationName Name { get; }

    /// <summary>The decoder layer (0-based), or -1 for <see cref="ActivationName.FinalNorm"/>.</summary>
    public int Layer { get; }

    /// <summary>Position of the first token of <see cref="Values"/> in its sequence.</summary>
    public int Position { get; }

    /// <summary>Tokens (rows) in <see cref="Values"/>.</summary>
    public int Tokens { get; }

    /// <summary>Values per token.</summary>
    public int Width { get; }

    /// <summary>Row-major [<see cref="Tokens"/>, <see cref="Width"/>].</summary>
    public ReadOnlySpan<float> Values { get; }

    /// <summary>Token <paramref name="row"/>'s values.</summary>
    public ReadOnlySpan<float> Row(int row) => Values.Slice(row * Width, Width);
}
