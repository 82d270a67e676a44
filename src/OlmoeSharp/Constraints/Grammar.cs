using OlmoeSharp.Generation;

namespace OlmoeSharp.Constraints;

/// <summary>
/// A context-free grammar over bytes in flat form: rules are lists of alternatives, each alternative a run of
/// elements (a byte class or a rule call) closed by an end marker, all in one array so a parser position is an
/// index. Built by <see cref="Compile"/> from a <see cref="GrammarExpr"/>, which also refuses grammars that could
/// not run: a root that can never finish (unsatisfiable) or left recursion other than in tail position.
/// </summary>
internal sealed class Grammar
{
    public const int Unreachable = int.MaxValue / 4;

    private Grammar(ElementKind[] kinds, int[] values, int[][] alternatives, ByteSet[] sets, int[] suffixMinBytes, int[] shortestAlternative)
    {
        ShortestAlternative = shortestAlternative;
        Kinds = kinds;
        Values = values;
        Alternatives = alternatives;
        Sets = sets;
        SuffixMinBytes = suffixMinBytes;
    }

    /// <summary>What each element is.</summary>
    public ElementKind[] Kinds { get; }

    /// <summary>The byte set index of a <see cref="ElementKind.Bytes"/> element, the rule of a <see cref="ElementKind.Call"/>.</summary>
    public int[] Values { get; }

    /// <summary>Each rule's alternatives, as the position of their first element. Rule 0 is the root.</summary>
    public int[][] Alternatives { get; }

    public ByteSet[] Sets { get; }

    /// <summary>The fewest bytes that complete the alternative from each position to its end.</summary>
    public int[] SuffixMinBytes { get; }

    /// <summary>For each rule, the index of an alternative of the fewest bytes (the first found, so the choice never cycles).</summary>
    public int[] ShortestAlternative { get; }

    /// <summary>
    /// Appends a shortest string that completes the alternative from <paramref name="position"/> to its end: the
    /// lowest byte of each class, each call expanded through its shortest alternative.
    /// </summary>
    public void AppendShortest(int position, List<byte> into)
    {
        for (int p = position; Kinds[p] != ElementKind.End; p++)
        {
            if (Kinds[p] == ElementKind.Bytes) into.Add(Sets[Values[p]].Lowest());
            else AppendShortest(Alternatives[Values[p]][ShortestAlternative[Values[p]]], into);
        }
    }

    /// <summary>Lowers <paramref name="root"/> to flat rules.</summary>
    /// <exception cref="ResponseFormatException">The grammar matches nothing, or is left-recursive.</exception>
    public static Grammar Compile(GrammarExpr root) => new Lowering().Run(root);

    private sealed class Lowering
    {
        private readonly List<ElementKind> _kinds = [];
        private readonly List<int> _values = [];
        private readonly List<List<GrammarExpr>> _pendingAlternatives = [];
        private readonly List<string> _names = [];
        private readonly Dictionary<object, int> _rules = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<ByteSet, int> _sets = [];
        private int[][] _alternatives = [];

        public Grammar Run(GrammarExpr root)
        {
            NewRule(root, "root", root is ChoiceExpr choice ? [.. choice.Options] : [root]);
            var starts = new List<List<int>>();
            // Lowering an alternative may create rules; they are appended and lowered in turn.
            for (int rule = 0; rule < _pendingAlternatives.Count; rule++)
            {
                var positions = new List<int>();
                foreach (var alternative in _pendingAlternatives[rule])
                {
                    var elements = new List<(ElementKind, int)>();
                    Lower(alternative, elements);
                    positions.Add(_kinds.Count);
                    foreach (var (kind, value) in elements) Emit(kind, value);
                    Emit(ElementKind.End, rule);
                }
                starts.Add(positions);
            }
            _alternatives = [.. starts.Select(s => s.ToArray())];
            var sets = new ByteSet[_sets.Count];
            foreach (var (set, index) in _sets) sets[index] = set;
            var kinds = _kinds.ToArray();
            var values = _values.ToArray();
            var (ruleMin, shortest) = RuleMinBytes(kinds, values);
            // A rule that can never finish only closes the alternatives calling it (the automaton finds no byte
            // there); the grammar is refused when that leaves no way through the root.
            if (ruleMin[0] >= Unreachable)
                throw new ResponseFormatException(_names[0], "no text can match this (an empty choice or class, or rules that never end).");
            var suffix = SuffixMin(kinds, values, ruleMin);
            CheckLeftRecursion(kinds, values, ruleMin);
            return new Grammar(kinds, values, _alternatives, sets, suffix, shortest);
        }

        private void Emit(ElementKind kind, int value)
        {
            _kinds.Add(kind);
            _values.Add(value);
        }

        private int NewRule(object key, string name, List<GrammarExpr> alternatives)
        {
            int index = _pendingAlternatives.Count;
            _rules[key] = index;
            _names.Add(name);
            _pendingAlternatives.Add(alternatives);
            return index;
        }

        private int RuleFor(object key, string name, Func<List<GrammarExpr>> alternatives) =>
            _rules.TryGetValue(key, out int rule) ? rule : NewRule(key, name, alternatives());

        private void Lower(GrammarExpr expr, List<(ElementKind, int)> into)
        {
            switch (expr)
            {
                case ByteClassExpr bytes:
                    if (!_sets.TryGetValue(bytes.Set, out int set)) _sets[bytes.Set] = set = _sets.Count;
                    into.Add((ElementKind.Bytes, set));
                    break;
                case SequenceExpr sequence:
                    foreach (var item in sequence.Items) Lower(item, into);
                    break;
                case ChoiceExpr choice:
                    into.Add((ElementKind.Call, RuleFor(choice, $"choice {_names.Count}", () => [.. choice.Options])));
                    break;
                case RuleCallExpr call:
                    into.Add((ElementKind.Call, RuleFor(call.Rule, call.Rule.Name, () => call.Rule.Body is { } body
                        ? body is ChoiceExpr c ? [.. c.Options] : [body]
                        : throw new ResponseFormatException(call.Rule.Name, "the rule is used but never defined."))));
                    break;
                case RepeatExpr repeat:
                    for (int i = 0; i < repeat.Min; i++) Lower(repeat.Item, into);
                    if (repeat.Max is not int max) Lower(Repetition(repeat, null).Call(), into);
                    else if (max > repeat.Min) Lower(Repetition(repeat, max - repeat.Min).Call(), into);
                    break;
                default:
                    throw new InvalidOperationException($"unknown grammar node {expr.GetType().Name}.");
            }
        }

        /// <summary>
        /// The rule for any number of <paramref name="repeat"/>'s item (null: R ::= x R | ε, a tail call the automaton
        /// runs in constant stack) or for at most <paramref name="upTo"/> of them (O_n ::= x O_(n-1) | ε), one per node
        /// and count however often the node is used.
        /// </summary>
        private RuleSlot Repetition(RepeatExpr repeat, int? upTo)
        {
            var key = (repeat, upTo ?? -1);
            if (_repetitions.TryGetValue(key, out var slot)) return slot;
            slot = new RuleSlot(upTo is null ? $"repetition {_names.Count}" : $"optional {_names.Count}");
            _repetitions[key] = slot;
            GrammarExpr more = upTo switch
            {
                null => new SequenceExpr([repeat.Item, slot.Call()]),
                1 => repeat.Item,
                int n => new SequenceExpr([repeat.Item, Repetition(repeat, n - 1).Call()]),
            };
            slot.Body = new ChoiceExpr([more, GrammarExpr.Empty]);
            return slot;
        }

        private readonly Dictionary<(RepeatExpr, int), RuleSlot> _repetitions = new(new RepetitionKeyComparer());

        private sealed class RepetitionKeyComparer : IEqualityComparer<(RepeatExpr Node, int Count)>
        {
            public bool Equals((RepeatExpr Node, int Count) x, (RepeatExpr Node, int Count) y) => ReferenceEquals(x.Node, y.Node) && x.Count == y.Count;

            public int GetHashCode((RepeatExpr Node, int Count) key) => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Node), key.Count);
        }

        // Each rule's fewest bytes, by relaxation until nothing shrinks; an alternative is recorded only when it
        // strictly lowers its rule's count, from counts already reached, so following the records always ends.
        private (int[] Min, int[] Alternative) RuleMinBytes(ElementKind[] kinds, int[] values)
        {
            var min = new int[_alternatives.Length];
            var alternative = new int[_alternatives.Length];
            Array.Fill(min, Unreachable);
            for (bool changed = true; changed;)
            {
                changed = false;
                for (int rule = 0; rule < _alternatives.Length; rule++)
                    for (int a = 0; a < _alternatives[rule].Length; a++)
                    {
                        int length = 0;
                        for (int p = _alternatives[rule][a]; kinds[p] != ElementKind.End; p++)
                            length = Math.Min(Unreachable, length + (kinds[p] == ElementKind.Bytes ? 1 : min[values[p]]));
                        if (length < min[rule])
                        {
                            (min[rule], alternative[rule]) = (length, a);
                            changed = true;
                        }
                    }
            }
            return (min, alternative);
        }

        private static int[] SuffixMin(ElementKind[] kinds, int[] values, int[] ruleMin)
        {
            var suffix = new int[kinds.Length];
            for (int p = kinds.Length - 1; p >= 0; p--)
                suffix[p] = kinds[p] switch
                {
                    ElementKind.End => 0,
                    ElementKind.Bytes => 1 + suffix[p + 1],
                    _ => Math.Min(Unreachable, ruleMin[values[p]] + suffix[p + 1]),
                };
            return suffix;
        }

        /// <summary>
        /// Refuses a rule that can reach itself without consuming a byte through a call that is not the last element
        /// of its alternative: expanding it would grow the stack forever. Tail calls are fine (the parser pops first).
        /// </summary>
        private void CheckLeftRecursion(ElementKind[] kinds, int[] values, int[] ruleMin)
        {
            var edges = new List<(int To, bool Tail)>[_alternatives.Length];
            for (int rule = 0; rule < edges.Length; rule++)
            {
                edges[rule] = [];
                foreach (int start in _alternatives[rule])
                    for (int p = start; kinds[p] == ElementKind.Call; p++)
                    {
                        edges[rule].Add((values[p], kinds[p + 1] == ElementKind.End));
                        if (ruleMin[values[p]] > 0) break;
                    }
            }
            var seen = new bool[edges.Length];
            for (int rule = 0; rule < edges.Length; rule++)
                foreach (var (to, tail) in edges[rule])
                {
                    if (tail) continue;
                    Array.Clear(seen);
                    if (Reaches(edges, to, rule, seen))
                        throw new ResponseFormatException(_names[rule], "the rule is left-recursive (it can call itself before matching any text); rewrite it with repetition.");
                }
        }

        private static bool Reaches(List<(int To, bool Tail)>[] edges, int from, int target, bool[] seen)
        {
            var work = new Stack<int>();
            work.Push(from);
            while (work.Count > 0)
            {
                int rule = work.Pop();
                if (rule == target) return true;
                if (seen[rule]) continue;
                seen[rule] = true;
                foreach (var (to, _) in edges[rule]) work.Push(to);
            }
            return false;
        }
    }
}

/// <summary>What a grammar element is.</summary>
internal enum ElementKind : byte
{
    /// <summary>One byte from a set.</summary>
    Bytes,

    /// <summary>A call of a rule.</summary>
    Call,

    /// <summary>The end of an alternative.</summary>
    End,
}
