using System.Runtime.InteropServices;
using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Byte-level BPE: a word's UTF-8 bytes start as one symbol each, then merges are applied lowest rank first,
/// leftmost first on ties. Follows the reference (tokenizers' <c>Word::merge_all</c>) step for step: a priority
/// queue of (rank, position) whose stale entries are skipped when popped, so even a huge word costs O(n log n).
/// Results for words are cached.
/// </summary>
internal sealed class BytePairEncoder
{
    // Words this long or longer are not cached (the reference has a similar bound); a cap on entries keeps memory
    // bounded on adversarial input, after which new words are simply not cached.
    private const int MaxCachedWordLength = 256;
    private const int CacheCapacity = 100_000;

    private readonly int[] _byteSymbols;
    private readonly IntPairMap _merges;
    private readonly WordCache _cache = new(CacheCapacity);

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <param name="byteSymbols">The token id of each byte's alphabet character, or -1 when the vocabulary lacks it.</param>
    /// <param name="merges">Merge rules in rank order: (left id, right id, merged id).</param>
    public BytePairEncoder(int[] byteSymbols, IReadOnlyList<(int Left, int Right, int Merged)> merges)
    {
        _byteSymbols = byteSymbols;
        _merges = new IntPairMap(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            // A repeated pair takes its last rank, as in the reference's map built from the list.
            var (left, right, merged) = merges[rank];
            _merges.Set(left, right, ((long)rank << 32) | (uint)merged);
        }
    }

    /// <summary>Appends the token ids of <paramref name="word"/> (one pre-tokenized word) to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> word, List<int> output)
    {
        if (_cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached.AsSpan());
            return;
        }
        var scratch = t_scratch ??= new Scratch();
        int start = output.Count;
        MergeWord(word, scratch, output);
        if (word.Length < MaxCachedWordLength)
            _cache.TryAdd(word, CollectionsMarshal.AsSpan(output)[start..].ToArray());
    }

    private void MergeWord(ReadOnlySpan<char> word, Scratch scratch, List<int> output)
    {
        int byteCount = Encoding.UTF8.GetByteCount(word);
        var bytes = scratch.Bytes(byteCount);
        Encoding.UTF8.GetBytes(word, bytes);

        // A byte whose alphabet character is not in the vocabulary is dropped, as the reference does when the
        // model has no unknown token (with this vocabulary that only happens for bytes UTF-8 never produces).
        var symbols = scratch.Symbols(byteCount);
        int count = 0;
        foreach (byte b in bytes)
        {
            int id = _byteSymbols[b];
            if (id >= 0)
            {
                symbols[count] = new Symbol(id, count - 1, count + 1);
                count++;
            }
        }
        if (count == 0) return;
        symbols[count - 1].Next = -1;
        var queue = scratch.Queue;
        queue.Clear();
        for (int i = 0; i + 1 < count; i++)
        {
            if (_merges.TryGetValue(symbols[i].Id, symbols[i + 1].Id, out long merge)) queue.Push(new Merge(i, merge));
        }
        while (queue.TryPop(out var top))
        {
            ref var current = ref symbols[top.Position];
            if (current.Removed || current.Next < 0) continue;

            // The entry is stale unless the pair now at this position still merges into the same token.
            int nextPosition = current.Next;
            var right = symbols[nextPosition];
            if (!_merges.TryGetValue(current.Id, right.Id, out long live) || (int)live != top.MergedId) continue;
            current.Id = top.MergedId;
            current.Next = right.Next;
            symbols[nextPosition].Removed = true;
            if (right.Next >= 0) symbols[right.Next].Previous = top.Position;
            if (current.Previous >= 0 && _merges.TryGetValue(symbols[current.Previous].Id, current.Id, out long before))
                queue.Push(new Merge(current.Previous, before));
            if (current.Next >= 0 && _merges.TryGetValue(current.Id, symbols[current.Next].Id, out long after))
                queue.Push(new Merge(top.Position, after));
        }
        for (int i = 0; i < count; i++)
        {
            if (!symbols[i].Removed) output.Add(symbols[i].Id);
        }
    }

    private struct Symbol(int id, int previous, int next)
    {
        public int Id = id;
        public int Previous = previous;
        public int Next = next;
        public bool Removed;
    }

    /// <summary>A queued merge; <paramref name="rule"/> packs (rank &lt;&lt; 32) | merged id.</summary>
    private readonly struct Merge(int position, long rule)
    {
        public readonly int Position = position;
        public readonly int Rank = (int)(rule >> 32);
        public readonly int MergedId = (int)rule;

        public bool Precedes(Merge other) => Rank != other.Rank ? Rank < other.Rank : Position < other.Position;
    }

    /// <summary>A binary min-heap on (rank, position).</summary>
    private sealed class MergeQueue
    {
        private Merge[] _items = new Merge[64];
        private int _count;

        public void Clear() => _count = 0;

        public void Push(Merge item)
        {
            if (_count == _items.Length) Array.Resize(ref _items, _count * 2);
            int i = _count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (!item.Precedes(_items[parent])) break;
                _items[i] = _items[parent];
                i = parent;
            }
            _items[i] = item;
        }

        public bool TryPop(out Merge top)
        {
            if (_count == 0)
            {
                top = default;
                return false;
            }
            top = _items[0];
            var last = _items[--_count];
            int i = 0;
            while (true)
            {
                int child = (2 * i) + 1;
                if (child >= _count) break;
                if (child + 1 < _count && _items[child + 1].Precedes(_items[child])) child++;
                if (!_items[child].Precedes(last)) break;
                _items[i] = _items[child];
                i = child;
            }
            _items[i] = last;
            return true;
        }
    }

    /// <summary>Per-thread buffers, so encoding allocates nothing but cache entries and the result list.</summary>
    private sealed class Scratch
    {
        // A buffer grown for one huge word is not kept beyond this size, so a thread does not hold megabytes.
        private const int RetainedCapacity = 1 << 16;

        private byte[] _bytes = new byte[256];
        private Symbol[] _symbols = new Symbol[256];

        public MergeQueue Queue { get; private set; } = new();

        public Span<byte> Bytes(int count)
        {
            if (_bytes.Length < count || _bytes.Length > RetainedCapacity) _bytes = new byte[Math.Max(count, 256)];
            return _bytes.AsSpan(0, count);
        }

        public Span<Symbol> Symbols(int count)
        {
            if (_symbols.Length < count || _symbols.Length > RetainedCapacity)
            {
                _symbols = new Symbol[Math.Max(count, 256)];
                Queue = new MergeQueue();
            }
            return _symbols.AsSpan(0, count);
        }
    }
}
