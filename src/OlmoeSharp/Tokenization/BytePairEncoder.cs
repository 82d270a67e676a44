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
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;

    public BytePairEncoder(Dictionary<string, int> vocab, Dictionary<long, (int Rank, int Merged)> merges)
    {
        _vocab = vocab;
        _merges = merges;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
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
            // Looked up by span: a cache hit allocates nothing.
            if (!_cacheBySpan.TryGetValue(piece, out var ids))
            {
                ids = EncodeUncached(piece);
                if (_cache.Count >= MaxCacheEntries) _cache.Clear();
                _cache.TryAdd(piece.ToString(), ids);
            }
            output.AddRange(ids);
            return;
        }
        output.AddRange(EncodeUncached(piece));
    }

    /// <summary>Pieces up to this many bytes merge with a plain scan (no queue, no heap scratch).</summary>
    private const int ShortPieceBytes = 64;

    private int[] EncodeUncached(ReadOnlySpan<char> piece)
    {
        int byteCount = Encoding.UTF8.GetByteCount(piece);
        if (byteCount <= ShortPieceBytes)
        {
            Span<byte> small = stackalloc byte[ShortPieceBytes];
            Encoding.UTF8.GetBytes(piece, small);
            return EncodeShort(small[..byteCount]);
        }
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

    /// <summary>The same merges for a short piece: repeatedly merge the lowest-ranked adjacent pair (leftmost on ties).</summary>
    private int[] EncodeShort(ReadOnlySpan<byte> bytes)
    {
        Span<int> ids = stackalloc int[ShortPieceBytes];
        int count = 0;
        foreach (byte b in bytes)
            if (_byteIds[b] >= 0) ids[count++] = _byteIds[b];
        while (count > 1)
        {
            int best = -1, bestRank = int.MaxValue, merged = 0;
            for (int i = 0; i < count - 1; i++)
                if (_merges.TryGetValue(PairKey(ids[i], ids[i + 1]), out var merge) && merge.Rank < bestRank)
                    (best, bestRank, merged) = (i, merge.Rank, merge.Merged);
            if (best < 0) break;
            ids[best] = merged;
            ids.Slice(best + 2, count - best - 2).CopyTo(ids[(best + 1)..]);
            count--;
        }
        return ids[..count].ToArray();
    }
}
