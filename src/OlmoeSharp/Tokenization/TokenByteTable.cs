using System.Text;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// The bytes each token id decodes to, precomputed: the byte-level characters of a BPE token map back to raw
/// bytes; a token with any character outside that alphabet (the space-run and other added tokens) decodes to its
/// own UTF-8, as the reference ByteLevel decoder does.
/// </summary>
internal sealed class TokenByteTable
{
    private readonly byte[] _bytes;
    private readonly int[] _offsets;

    public TokenByteTable(string[] tokens)
    {
        _offsets = new int[tokens.Length + 1];
        var all = new List<byte>(tokens.Length * 6);
        for (int id = 0; id < tokens.Length; id++)
        {
            string token = tokens[id];
            int start = all.Count;
            foreach (char c in token)
            {
                if (!ByteLevelAlphabet.TryGetByte(c, out byte b))
                {
                    all.RemoveRange(start, all.Count - start);
                    all.AddRange(Encoding.UTF8.GetBytes(token));
                    break;
                }
                all.Add(b);
            }
            _offsets[id + 1] = all.Count;
        }
        _bytes = [.. all];
    }

    /// <summary>The bytes of <paramref name="id"/>; empty for an id with no token (such as the model's padding rows).</summary>
    public ReadOnlySpan<byte> this[int id] =>
        (uint)id < (uint)(_offsets.Length - 1) ? _bytes.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]) : default;
}
