namespace OlmoeSharp.Tokenization.Unicode;

/// <summary>A growable list of code points, a struct so the normalizer's scratch space costs no extra object.</summary>
internal struct CodePointBuffer
{
    private int[] _items;

    public CodePointBuffer(int capacity) => _items = new int[Math.Max(capacity, 4)];

    public int Count { get; private set; }

    public readonly Span<int> Items => _items.AsSpan(0, Count);

    public void Add(int codePoint)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        _items[Count++] = codePoint;
    }

    public void Clear() => Count = 0;
}
