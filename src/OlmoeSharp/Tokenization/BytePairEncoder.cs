using System.Collections.Concurrent;
using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// Byte-level BPE: a pre-tokenized piece becomes bytes, bytes become alphabet characters (one symbol each), and the
/// lowest-ranked adjacent pair is merged until no listed merge applies. A priority queue keeps long pieces
/// O(n log n) (a hostile run of a million identical characters must not take quadratic time). Results of short
/// pieces are cached: natural text repeats the same words.
/// </summary>
internal sealed class BytePairEncoder
{
    private const int MaxCacheEntries = 200_000;
    private const int MaxCachedPieceLength = 64;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;
    private readonly int[] _byteIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    public BytePairEncoder(Dictionary<string, int> vocab, Dictionary<long, (int Rank, int Merged)> merges)
    {
        _vocab = vocab;
        _merges = merges;
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++)
            _byteIds[b] = vocab.TryGetValue(ByteLevelAlphabet.ByteToChar[b].ToString(), out int id) ? id : -1;
    }

    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the token ids of one piece of text.</summary>
    public void Encode(ReadOnlySpan<char> piece, List<int> output)
    {
        if (piece.Length <= MaxCachedPieceLength)
        {
            string key = piece.ToString();
            if (!_cache.TryGetValue(key, out var ids))
            {
                ids = EncodeUncached(piece);
                if (_cache.Count >= MaxCacheEntries) _cache.Clear();
                _cache.TryAdd(key, ids);
            }
            output.AddRange(ids);
            return;
        }
        output.AddRange(EncodeUncached(piece));
    }

    private int[] EncodeUncached(ReadOnlySpan<char> piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece.ToArray());
        int n = bytes.Length;
        var ids = new int[n];
        var next = new int[n];
        var prev = new int[n];
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            int id = _byteIds[bytes[i]];
            if (id < 0) continue; // a byte with no token (never produced by valid UTF-8): dropped, as the reference does without unk
            ids[count] = id;
            prev[count] = count - 1;
            next[count] = count + 1;
            count++;
        }
        if (count == 0) return [];
        next[count - 1] = -1;

        var queue = new PriorityQueue<(int Position, int Left, int Right), (int Rank, int Position)>();
        void Consider(int position)
        {
            int right = next[position];
            if (right < 0) return;
            if (_merges.TryGetValue(PairKey(ids[position], ids[right]), out var merge))
                queue.Enqueue((position, ids[position], ids[right]), (merge.Rank, position));
        }
        for (int i = 0; i < count - 1; i++) Consider(i);

        var alive = new bool[count];
        Array.Fill(alive, true);
        while (queue.TryDequeue(out var pair, out _))
        {
            int p = pair.Position, r = next[p];
            // Skip entries made stale by an earlier merge.
            if (!alive[p] || r < 0 || ids[p] != pair.Left || ids[r] != pair.Right) continue;
            ids[p] = _merges[PairKey(pair.Left, pair.Right)].Merged;
            alive[r] = false;
            next[p] = next[r];
            if (next[r] >= 0) prev[next[r]] = p;
            if (prev[p] >= 0) Consider(prev[p]);
            Consider(p);
        }

        var result = new List<int>(count);
        for (int i = 0; i >= 0; i = next[i]) result.Add(ids[i]);
        return [.. result];
    }
}
