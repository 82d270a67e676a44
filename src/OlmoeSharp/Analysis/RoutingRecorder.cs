using OlmoeSharp.Model;
using OlmoeSharp.Telemetry;

namespace OlmoeSharp.Analysis;

/// <summary>
/// An <see cref="IRouterObserver"/> that keeps every routing decision of the text being evaluated — per position and
/// layer the chosen experts and their weights, compactly (see <see cref="InputRouting"/>) — until
/// <see cref="Complete"/> hands them over as one input's routing and starts the next. <see cref="Route"/> runs a
/// model over a token sequence with one attached.
/// </summary>
/// <remarks>
/// Positions are the session's plus <see cref="PositionOffset"/>, so a text evaluated in windows (each from an empty
/// cache) is recorded at its own positions. A decision reported again (a block recomputed after a cancellation)
/// overwrites the first. Recording allocates only when the positions outgrow the buffers (they double; call
/// <see cref="EnsureCapacity"/> first to avoid even that). Not thread-safe: one session at a time.
/// </remarks>
public sealed class RoutingRecorder : IRouterObserver
{
    /// <summary>Marks an expert slot no decision has filled yet (never a valid id: <see cref="InputRouting"/> allows at most 65,535 experts).</summary>
    private const ushort Unfilled = ushort.MaxValue;

    private readonly int _layers, _expertsPerToken, _numExperts;
    private int[] _tokens = [];
    private ushort[] _experts = [];
    private float[] _weights = [];
    private int _length;

    /// <summary>A recorder for the routing of models with <paramref name="config"/>'s shape.</summary>
    public RoutingRecorder(OlmoeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.NumExperts > ushort.MaxValue - 1)
            throw new ArgumentException($"a recorder keeps expert ids in 16 bits; the config has {config.NumExperts} experts.", nameof(config));
        _layers = config.NumHiddenLayers;
        _expertsPerToken = config.NumExpertsPerToken;
        _numExperts = config.NumExperts;
    }

    /// <summary>Added to every decision's position: where the session's position 0 lies in the input (0 unless it runs in windows).</summary>
    public int PositionOffset { get; set; }

    /// <summary>Positions recorded so far for the current input (the highest position seen + 1).</summary>
    public int Length => _length;

    /// <summary>Makes room for <paramref name="positions"/> positions, so that recording them allocates nothing.</summary>
    public void EnsureCapacity(int positions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(positions);
        if (positions <= _tokens.Length) return;
        if ((long)positions * _layers * _expertsPerToken > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(positions), $"{positions} positions × {_layers} layers × {_expertsPerToken} experts exceed what one array holds; route the text in parts.");
        int old = _tokens.Length;
        Array.Resize(ref _tokens, positions);
        Array.Resize(ref _experts, positions * _layers * _expertsPerToken);
        Array.Resize(ref _weights, positions * _layers * _expertsPerToken);
        _experts.AsSpan(old * _layers * _expertsPerToken).Fill(Unfilled);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The decision does not fit the recorder's shape (another model's observer).</exception>
    public void OnRouted(in RouterDecision decision)
    {
        int position = decision.Position + PositionOffset;
        if ((uint)decision.Layer >= (uint)_layers || decision.Experts.Length != _expertsPerToken || position < 0)
            throw new ArgumentException($"a decision for layer {decision.Layer} with {decision.Experts.Length} experts at position {position} does not fit a recorder of {_layers} layers × {_expertsPerToken} experts.", nameof(decision));
        if (position >= _tokens.Length) EnsureCapacity(Math.Max(position + 1, 2 * _tokens.Length));
        _tokens[position] = decision.Token;
        int offset = (position * _layers + decision.Layer) * _expertsPerToken;
        var experts = decision.Experts;
        for (int i = 0; i < experts.Length; i++) _experts[offset + i] = (ushort)experts[i];
        decision.Weights.CopyTo(_weights.AsSpan(offset, _expertsPerToken));
        if (position >= _length) _length = position + 1;
    }

    /// <summary>
    /// The routing recorded since the last call, as one input called <paramref name="name"/>; the recorder starts
    /// over (positions from 0, <see cref="PositionOffset"/> back to 0).
    /// </summary>
    /// <exception cref="InvalidOperationException">A position below <see cref="Length"/> lacks a layer's decision (tokens were skipped).</exception>
    public InputRouting Complete(string name)
    {
        int entries = _length * _layers * _expertsPerToken;
        int missing = _experts.AsSpan(0, entries).IndexOf(Unfilled);
        if (missing >= 0)
        {
            int decision = missing / _expertsPerToken;
            throw new InvalidOperationException($"{name}: position {decision / _layers} has no routing for layer {decision % _layers}; every position up to {_length - 1} must be evaluated.");
        }
        var routing = new InputRouting(name, _tokens[.._length], _layers, _expertsPerToken, _numExperts, _experts[..entries], _weights[..entries]);
        _experts.AsSpan(0, entries).Fill(Unfilled);
        _length = 0;
        PositionOffset = 0;
        return routing;
    }

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="tokens"/> and returns their routing. The tokens are cut into
    /// consecutive windows of <paramref name="context"/> tokens (the last one shorter), each evaluated from an empty
    /// cache, so every token is routed with up to a window of context — as the OLMoE paper's analyses run fixed-length
    /// sequences. No logits are computed.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="name">What the input is called in reports.</param>
    /// <param name="tokens">At least one token.</param>
    /// <param name="context">Tokens per window, 1 to the model's context length.</param>
    /// <param name="progress">Receives the number of tokens routed so far after each window, on the calling thread.</param>
    /// <param name="cancellationToken">Checked between blocks and layers.</param>
    /// <exception cref="ArgumentException">No tokens, a context out of range, or an id outside the vocabulary.</exception>
    public static InputRouting Route(OlmoeModel model, string name, ReadOnlySpan<int> tokens, int context,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (tokens.IsEmpty) throw new ArgumentException($"{name}: no tokens to route.", nameof(tokens));
        if (context < 1 || context > model.Config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(context), $"the context must be 1 to the model's {model.Config.MaxPositionEmbeddings} positions; it is {context}.");
        var recorder = new RoutingRecorder(model.Config);
        recorder.EnsureCapacity(tokens.Length);
        var session = model.CreateSession();
        session.RouterObserver = recorder;
        for (int start = 0; start < tokens.Length; start += context)
        {
            session.Reset();
            recorder.PositionOffset = start;
            session.Evaluate(tokens.Slice(start, Math.Min(context, tokens.Length - start)), Span<float>.Empty, cancellationToken);
            progress?.Report(Math.Min(start + context, tokens.Length));
        }
        return recorder.Complete(name);
    }
}
