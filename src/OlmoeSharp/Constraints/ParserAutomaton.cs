namespace OlmoeSharp.Constraints;

/// <summary>
/// Runs a <see cref="Grammar"/> over bytes as a pushdown automaton whose states are sets of interned stacks
/// (the llama.cpp grammar sampler's model), built lazily into a DFA: the state a byte leads to is computed once and
/// then looked up, so walking the token trie costs a table read per node. Not thread-safe: the owner locks.
/// <para>
/// States and stack frames are kept until <see cref="StateLimit"/> states exist; then the tables are cleared
/// (states in use stay valid objects and are simply no longer shared), which bounds memory on grammars with
/// unbounded nesting.
/// </para>
/// </summary>
internal sealed class ParserAutomaton
{
    private const int StateLimit = 100_000;

    private readonly Grammar _grammar;
    private readonly Dictionary<(int Position, int Parent), StackNode> _nodes = [];
    private readonly Dictionary<StateKey, ParserState> _states = [];
    private readonly List<ParserState> _statesWithCaches = [];
    private int _nextNodeId;

    // Scratch of one expansion, reused.
    private readonly Stack<(int Position, StackNode? Parent)> _work = new();
    private readonly HashSet<(int, int)> _visited = [];
    private readonly List<StackNode> _tops = [];

    public ParserAutomaton(Grammar grammar)
    {
        _grammar = grammar;
        Dead = new ParserState([], accepting: false);
        foreach (int start in grammar.Alternatives[0]) _work.Push((start, null));
        Initial = Close();
    }

    /// <summary>The state before any byte.</summary>
    public ParserState Initial { get; }

    /// <summary>The state of text that is no prefix of the language.</summary>
    public ParserState Dead { get; }

    /// <summary>The state after <paramref name="value"/> in <paramref name="state"/> (<see cref="Dead"/> when it cannot follow).</summary>
    public ParserState Step(ParserState state, byte value)
    {
        if (state.Next?[value] is { } known) return known;
        if (state.Tops.Length == 0) return Dead;
        foreach (var top in state.Tops)
            if (_grammar.Sets[_grammar.Values[top.Position]].Contains(value))
                _work.Push((top.Position + 1, top.Parent));
        var next = _work.Count == 0 ? Dead : Close();
        if (state.Next is null)
        {
            state.Next = new ParserState?[256];
            _statesWithCaches.Add(state);
        }
        state.Next[value] = next;
        return next;
    }

    /// <summary>
    /// Expands the pending positions until every stack has a byte class on top (or is empty: the text is complete),
    /// and interns the resulting set.
    /// </summary>
    private ParserState Close()
    {
        var kinds = _grammar.Kinds;
        var values = _grammar.Values;
        bool accepting = false;
        while (_work.TryPop(out var item))
        {
            var (position, parent) = item;
            if (!_visited.Add((position, parent?.Id ?? -1))) continue;
            switch (kinds[position])
            {
                case ElementKind.Bytes:
                    _tops.Add(Node(position, parent));
                    break;
                case ElementKind.End:
                    if (parent is null) accepting = true;
                    else _work.Push((parent.Position, parent.Parent));
                    break;
                default:
                    // A call in tail position returns straight to the caller's caller: no frame for an empty continuation.
                    var continuation = kinds[position + 1] == ElementKind.End ? parent : Node(position + 1, parent);
                    foreach (int start in _grammar.Alternatives[values[position]]) _work.Push((start, continuation));
                    break;
            }
        }
        _visited.Clear();
        _tops.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        var key = new StateKey([.. _tops], accepting);
        _tops.Clear();
        if (_states.TryGetValue(key, out var state)) return state;
        Trim();
        state = new ParserState(key.Tops, accepting);
        _states[key] = state;
        return state;
    }

    private StackNode Node(int position, StackNode? parent)
    {
        if (_nodes.TryGetValue((position, parent?.Id ?? -1), out var node)) return node;
        int minBytes = (int)Math.Min(Grammar.Unreachable, (long)_grammar.SuffixMinBytes[position] + (parent?.MinBytes ?? 0));
        node = new StackNode(position, parent, _nextNodeId++, minBytes);
        _nodes[(position, parent?.Id ?? -1)] = node;
        return node;
    }

    private void Trim()
    {
        if (_states.Count < StateLimit) return;
        foreach (var state in _statesWithCaches) state.Next = null;
        _statesWithCaches.Clear();
        _states.Clear();
        _nodes.Clear();
    }

    /// <summary>A state's identity: its top frames (interned, so compared by reference) and whether it accepts.</summary>
    private readonly record struct StateKey(StackNode[] Tops, bool Accepting)
    {
        public bool Equals(StateKey other)
        {
            if (Accepting != other.Accepting || Tops.Length != other.Tops.Length) return false;
            for (int i = 0; i < Tops.Length; i++)
                if (!ReferenceEquals(Tops[i], other.Tops[i])) return false;
            return true;
        }

        public override int GetHashCode()
        {
            var hash = new HashCode();
            hash.Add(Accepting);
            foreach (var top in Tops) hash.Add(top.Id);
            return hash.ToHashCode();
        }
    }
}
