using System.Runtime.CompilerServices;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Constraints;

/// <summary>
/// The vocabulary's byte strings as a trie, flattened in depth-first order: node i's subtree is [i, SubtreeEnd[i]),
/// so a walk that finds a prefix impossible skips every token starting with it in one jump. Tokens with no bytes
/// (special tokens, unused ids) are left out: they never continue a document.
/// </summary>
internal sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<OlmoeTokenizer, TokenTrie> Tries = new();

    private TokenTrie(byte[][] tokenBytes, int vocabularySize, byte[] nodeByte, int[] nodeDepth, int[] subtreeEnd, int[] tokenStart, int[] tokenCount, int[] sortedIds, int maxDepth)
    {
        TokenCount = tokenCount;
        TokenBytes = tokenBytes;
        VocabularySize = vocabularySize;
        NodeByte = nodeByte;
        NodeDepth = nodeDepth;
        SubtreeEnd = subtreeEnd;
        TokenStart = tokenStart;
        SortedIds = sortedIds;
        MaxDepth = maxDepth;
    }

    /// <summary>Each token's bytes (empty for those left out).</summary>
    public byte[][] TokenBytes { get; }

    /// <summary>Token ids run from 0 to this (exclusive).</summary>
    public int VocabularySize { get; }

    /// <summary>The byte on the edge into each node.</summary>
    public byte[] NodeByte { get; }

    /// <summary>Each node's depth: the length of the byte string it spells (1 for children of the root).</summary>
    public int[] NodeDepth { get; }

    public int[] SubtreeEnd { get; }

    /// <summary>The tokens spelled exactly by node i are SortedIds[TokenStart[i] .. TokenStart[i] + TokenCount[i]).</summary>
    public int[] TokenStart { get; }

    public int[] TokenCount { get; }

    public int[] SortedIds { get; }

    public int MaxDepth { get; }

    /// <summary>The id of the longest token that <paramref name="text"/> begins with, and its length (−1 and 0 when none does).</summary>
    public int LongestTokenAtStart(ReadOnlySpan<byte> text, out int length)
    {
        int best = -1;
        length = 0;
        // Children of a node are the nodes after it whose subtrees chain through SubtreeEnd; the root's span everything.
        int first = 0, end = NodeByte.Length;
        for (int depth = 0; depth < text.Length && first < end; depth++)
        {
            int child = first;
            while (child < end && NodeByte[child] != text[depth]) child = SubtreeEnd[child];
            if (child >= end) break;
            if (TokenCount[child] > 0) (best, length) = (SortedIds[TokenStart[child]], depth + 1);
            (first, end) = (child + 1, SubtreeEnd[child]);
        }
        return best;
    }

    /// <summary>The trie of a tokenizer's vocabulary (its special tokens left out), built once per tokenizer.</summary>
    public static TokenTrie For(OlmoeTokenizer tokenizer) => Tries.GetValue(tokenizer, static t =>
    {
        var bytes = new byte[t.VocabularySize][];
        for (int id = 0; id < bytes.Length; id++) bytes[id] = t.IsSpecial(id) ? [] : t.TokenBytes[id].ToArray();
        return Build(bytes);
    });

    /// <summary>The trie of the given token byte strings (index = id; empty = never allowed).</summary>
    public static TokenTrie Build(IReadOnlyList<byte[]> tokens)
    {
        var ids = Enumerable.Range(0, tokens.Count).Where(id => tokens[id].Length > 0).ToArray();
        Array.Sort(ids, (a, b) =>
        {
            int order = tokens[a].AsSpan().SequenceCompareTo(tokens[b]);
            return order != 0 ? order : a.CompareTo(b);
        });

        var nodeByte = new List<byte>();
        var nodeDepth = new List<int>();
        var subtreeEnd = new List<int>();
        var tokenStart = new List<int>();
        var tokenCount = new List<int>();
        var path = new List<int>(); // node index at each depth of the current token
        byte[] previous = [];
        int maxDepth = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            byte[] token = tokens[ids[i]];
            int common = token.AsSpan().CommonPrefixLength(previous);
            for (int depth = path.Count; depth > common; depth--)
            {
                subtreeEnd[path[^1]] = nodeByte.Count;
                path.RemoveAt(path.Count - 1);
            }
            for (int depth = common; depth < token.Length; depth++)
            {
                path.Add(nodeByte.Count);
                nodeByte.Add(token[depth]);
                nodeDepth.Add(depth + 1);
                subtreeEnd.Add(-1);
                tokenStart.Add(i);
                tokenCount.Add(0);
            }
            // Sorted order puts a token before every longer one it prefixes, and duplicates side by side.
            tokenCount[path[^1]]++;
            maxDepth = Math.Max(maxDepth, token.Length);
            previous = token;
        }
        foreach (int node in path) subtreeEnd[node] = nodeByte.Count;
        return new TokenTrie([.. tokens], tokens.Count, [.. nodeByte], [.. nodeDepth], [.. subtreeEnd], [.. tokenStart], [.. tokenCount], ids, maxDepth);
    }
}
