using System.Runtime.InteropServices;
using OlmoeSharp.Tokenization.Unicode;

namespace OlmoeSharp.Tokenization;

/// <summary>
/// One text's tokens with their places in it: the offsets <see cref="OlmoeTokenizer"/> reports through
/// Microsoft.ML.Tokenizers and the places where the text can be cut between two tokens.
/// </summary>
/// <remarks>
/// <para>
/// The pipeline is that of <see cref="OlmoeTokenizer.Encode(string)"/>. Every token lies in one unit: a special token
/// (matched in the raw text), an added token (matched in the normalized text), or a pre-tokenized word, BPE-encoded.
/// Units lie in segments: the stretches between special tokens, NFC-normalized, each with the map from its
/// normalized text back to the input.
/// </para>
/// <para>
/// Between token <c>k - 1</c> and token <c>k</c> is boundary <c>k</c> (boundary 0 starts the text, boundary
/// <c>Count</c> ends it). Its offset in the input rounds down: a boundary inside a character (byte-level BPE splits
/// UTF-8 sequences) or inside a stretch NFC rewrote as a whole lies where that character or stretch begins, so the
/// offsets are contiguous, in order and cover the input, and a character belongs to the token that completes it.
/// A boundary is a prefix cut when the input up to it normalizes to exactly the text of the tokens before it, and
/// a suffix cut when the input from it normalizes to exactly the text of the tokens after it.
/// </para>
/// <para>
/// BPE itself keeps a cut between two tokens of a word: each merge joins symbols on one side of it only, and merges
/// on one side come in the same order without the other side. What can change is the split into words near the cut
/// (the GPT-2 regex looks one character past a run of white space; a word cut at its apostrophe can become a
/// contraction), so <see cref="PrefixCut"/> and <see cref="SuffixCut"/> re-split the words next to the cut and,
/// where the split differs, re-encode those words and compare.
/// </para>
/// </remarks>
internal sealed class TokenLayout
{
    /// <summary>
    /// When the layout has a limit, a stretch between special tokens longer than this is normalized and split a
    /// window at a time, so cutting the start off a long document costs what the start costs.
    /// </summary>
    public const int DefaultWindow = 4096;

    // Stretches NFC rewrote that are at most this long (in UTF-16 units) are searched for cut points inside them;
    // a longer one (hostile stacks of marks) can only be cut at its ends.
    private const int SearchedChangeLength = 64;

    private readonly OlmoeTokenizer _tokenizer;
    private readonly int _limit;
    private readonly int _window;
    private readonly List<int> _ids = [];
    private readonly List<int> _unitOfToken = [];
    private readonly List<Boundary> _boundaries = [];
    private readonly List<Unit> _units = [];
    private readonly List<Segment> _segments = [];

    private TokenLayout(OlmoeTokenizer tokenizer, int limit, int window)
    {
        _tokenizer = tokenizer;
        _limit = limit;
        _window = window;
        _boundaries.Add(new Boundary(0, 0, 0, 0));
    }

    /// <summary>The token ids (all of them when <see cref="IsComplete"/>; else more than the limit given).</summary>
    public IReadOnlyList<int> Ids => _ids;

    /// <summary>The number of tokens laid out.</summary>
    public int Count => _ids.Count;

    /// <summary>False when building stopped early, with more tokens than the limit, before the end of the text.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>The length of the input.</summary>
    public int TextLength { get; private set; }

    /// <summary>The number of stretches laid out on their own (special tokens, windows of the text between them).</summary>
    internal int SegmentCount => _segments.Count;

    /// <summary>Lays out <paramref name="text"/> as <paramref name="tokenizer"/> encodes it.</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="text">The text.</param>
    /// <param name="normalize">Apply the tokenizer's normalization (NFC), if it has one.</param>
    /// <param name="preTokenize">Match special and added tokens and split words; else BPE the text as one sequence.</param>
    /// <param name="limit">Stop once more than this many tokens are laid out (the cuts up to it are then all known).</param>
    /// <param name="window">See <see cref="DefaultWindow"/>; the same layout results whatever it is.</param>
    /// <param name="textString">The text as a string, when the caller has it (then it is not copied).</param>
    public static TokenLayout Build(
        OlmoeTokenizer tokenizer, ReadOnlySpan<char> text, bool normalize, bool preTokenize, int limit = int.MaxValue,
        int window = DefaultWindow, string? textString = null)
    {
        var layout = new TokenLayout(tokenizer, limit, window) { TextLength = text.Length };
        string input = LoneSurrogates.ReplaceOrNull(text) ?? textString ?? text.ToString();
        normalize &= tokenizer.NormalizesNfc;
        if (!preTokenize)
        {
            layout.AddSegment(input, 0, input.Length, normalize, words: false);
        }
        else
        {
            int position = 0;
            while (position < input.Length && !layout.IsFull)
            {
                if (!tokenizer.RawTextTokens.TryFindNext(input.AsSpan(position), out int index, out int length, out int id))
                {
                    layout.AddWindows(input, position, input.Length, normalize);
                    break;
                }
                layout.AddWindows(input, position, position + index, normalize);
                if (layout.IsFull) break;
                int segment = layout.AddIdentitySegment(input, position + index, length);
                layout.AddWholeUnit(UnitKind.Special, segment, 0, length, id);
                position += index + length;
            }
        }
        layout.IsComplete = !layout.IsFull || layout._boundaries[^1].Floor == input.Length;
        return layout;
    }

    /// <summary>The offset range in the input of token <paramref name="index"/>.</summary>
    public Range OffsetOf(int index) => new(_boundaries[index].Floor, _boundaries[index + 1].Floor);

    /// <summary>
    /// The most tokens from the start, at most <paramref name="maxTokenCount"/>, that the input can be cut after so
    /// that the input before the cut encodes to exactly those tokens; and where to cut.
    /// </summary>
    public (int Index, int TokenCount) PrefixCut(int maxTokenCount)
    {
        if (IsComplete && _ids.Count <= maxTokenCount) return (TextLength, _ids.Count);
        for (int k = Math.Min(maxTokenCount, _ids.Count); k > 0; k--)
        {
            int cut = _boundaries[k].PrefixCut;
            if (cut >= 0 && PrefixEncodesTheSame(k)) return (cut, k);
        }
        return (0, 0);
    }

    /// <summary>
    /// The most tokens from the end, at most <paramref name="maxTokenCount"/>, such that the input from the cut on
    /// encodes to exactly those tokens; and where the cut is. Needs a complete layout.
    /// </summary>
    public (int Index, int TokenCount) SuffixCut(int maxTokenCount)
    {
        if (!IsComplete) throw new InvalidOperationException("the layout stopped early");
        int count = _ids.Count;
        if (count <= maxTokenCount) return (0, count);
        for (int k = maxTokenCount; k > 0; k--)
        {
            int cut = _boundaries[count - k].SuffixCut;
            if (cut >= 0 && SuffixEncodesTheSame(count - k)) return (cut, k);
        }
        return (TextLength, 0);
    }

    private bool IsFull => _ids.Count > _limit;

    /// <summary>
    /// Adds the stretch [<paramref name="start"/>, <paramref name="end"/>) between special tokens, cut into windows
    /// when the layout has a limit. A window ends before a space that follows an ASCII letter: there the words split
    /// whatever follows (a letter run ends at a space and looks no further), NFC leaves both sides alone (a space
    /// composes with nothing), and no added token spans it (<see cref="OlmoeTokenizer.AddedTokensSpanLetterSpace"/>).
    /// </summary>
    private void AddWindows(string input, int start, int end, bool normalize)
    {
        if (_limit == int.MaxValue || _tokenizer.AddedTokensSpanLetterSpace)
        {
            AddSegment(input, start, end, normalize, words: true);
            return;
        }
        while (start < end && !IsFull)
        {
            int stop = end;
            for (int i = start + _window; i < end; i++)
            {
                i = input.IndexOf(' ', i, end - i);
                if (i < 0) break;
                if (char.IsAsciiLetter(input[i - 1]))
                {
                    stop = i;
                    break;
                }
            }
            AddSegment(input, start, stop, normalize, words: true);
            start = stop;
        }
    }

    private void AddSegment(string input, int start, int end, bool normalize, bool words)
    {
        if (start == end) return;
        var source = input.AsMemory(start, end - start);
        List<NfcChange>? changes = null;
        string? normalized = null;
        if (normalize)
        {
            changes = [];
            normalized = Nfc.NormalizeOrNull(source.Span, changes);
            if (changes.Count == 0)
            {
                changes = null;
                normalized = null;
            }
        }
        var segment = new Segment(normalized?.AsMemory() ?? source, start, changes, source);
        int index = _segments.Count;
        _segments.Add(segment);
        var text = segment.Text.Span;
        if (!words)
        {
            AddWord(UnitKind.WholeText, index, 0, text.Length, 0, text.Length);
            return;
        }
        int position = 0;
        while (position < text.Length && !IsFull)
        {
            if (!_tokenizer.NormalizedTextTokens.TryFindNext(text[position..], out int found, out int length, out int id))
            {
                AddWords(index, position, text.Length);
                return;
            }
            AddWords(index, position, position + found);
            if (IsFull) return;
            AddWholeUnit(UnitKind.Added, index, position + found, position + found + length, id);
            position += found + length;
        }
    }

    private int AddIdentitySegment(string input, int start, int length)
    {
        var source = input.AsMemory(start, length);
        _segments.Add(new Segment(source, start, null, source));
        return _segments.Count - 1;
    }

    private void AddWords(int segment, int start, int end)
    {
        var text = _segments[segment].Text.Span;
        int position = start;
        while (position < end && !IsFull)
        {
            int length = Gpt2PreTokenizer.NextWordLength(text[position..end]);
            AddWord(UnitKind.Word, segment, position, position + length, start, end);
            position += length;
        }
    }

    private void AddWholeUnit(UnitKind kind, int segment, int start, int end, int id)
    {
        _units.Add(new Unit(kind, segment, start, end, start, end, _ids.Count, 1));
        _ids.Add(id);
        _unitOfToken.Add(_units.Count - 1);
        AddBoundary(segment, end, exact: true);
    }

    /// <summary>BPE-encodes one word and adds its tokens, each boundary placed by counting the word's UTF-8 bytes.</summary>
    private void AddWord(UnitKind kind, int segment, int start, int end, int stretchStart, int stretchEnd)
    {
        var text = _segments[segment].Text.Span;
        int first = _ids.Count;
        _tokenizer.Encoder.Encode(text[start..end], _ids);
        int count = _ids.Count - first;
        int unit = _units.Count;
        _units.Add(new Unit(kind, segment, start, end, stretchStart, stretchEnd, first, count));
        int position = start;
        int bytesBefore = 0; // UTF-8 bytes of text[start..position]
        int tokenEnd = 0;
        for (int t = first; t < first + count; t++)
        {
            _unitOfToken.Add(unit);
            tokenEnd += _tokenizer.TokenBytes[_ids[t]].Length;
            while (position < end)
            {
                int units = char.IsHighSurrogate(text[position]) ? 2 : 1;
                int bytes = Utf8Length(text, position);
                if (bytesBefore + bytes > tokenEnd) break;
                bytesBefore += bytes;
                position += units;
            }

            // The last token ends the word even if a byte was dropped (a byte the vocabulary lacks).
            if (t == first + count - 1) AddBoundary(segment, end, exact: true);
            else AddBoundary(segment, position, exact: bytesBefore == tokenEnd);
        }
    }

    private static int Utf8Length(ReadOnlySpan<char> text, int index)
    {
        char c = text[index];
        if (c < 0x80) return 1;
        if (c < 0x800) return 2;
        return char.IsHighSurrogate(c) ? 4 : 3; // the text has no lone surrogates
    }

    private void AddBoundary(int segment, int position, bool exact)
    {
        var place = _segments[segment].Map(position);
        int source = _segments[segment].Source;
        _boundaries.Add(new Boundary(
            source + place.Floor,
            exact && place.Prefix >= 0 ? source + place.Prefix : -1,
            exact && place.Suffix >= 0 ? source + place.Suffix : -1,
            position));
    }

    /// <summary>True when the input before boundary <paramref name="k"/> encodes to exactly the first k tokens.</summary>
    /// <remarks>
    /// Special tokens, added tokens and normalization are the same on both sides of a prefix cut; only the words can
    /// split differently, and only from the word before the one holding the last token kept: every word before that
    /// one was decided by characters before the cut (a rule looks at most one character past the word's end).
    /// </remarks>
    private bool PrefixEncodesTheSame(int k)
    {
        int unitIndex = _unitOfToken[k - 1];
        var unit = _units[unitIndex];
        if (unit.Kind != UnitKind.Word) return true;
        var text = _segments[unit.Segment].Text.Span;
        int cut = _boundaries[k].Position;
        var from = unit;
        if (unitIndex > 0 && _units[unitIndex - 1] is { Kind: UnitKind.Word } previous
            && previous.Segment == unit.Segment && previous.StretchStart == unit.StretchStart)
            from = previous;

        // With the same split, the last word is cut between two of its tokens, which BPE keeps.
        bool sameSplit = true;
        int position = from.Start;
        if (from.Start != unit.Start)
        {
            sameSplit = Gpt2PreTokenizer.NextWordLength(text[position..cut]) == from.End - from.Start;
            position = unit.Start;
        }
        if (sameSplit && Gpt2PreTokenizer.NextWordLength(text[position..cut]) == cut - position) return true;
        var ids = new List<int>();
        EncodeWords(text[from.Start..cut], ids);
        return CollectionsMarshal.AsSpan(ids).SequenceEqual(CollectionsMarshal.AsSpan(_ids)[from.FirstToken..k]);
    }

    /// <summary>True when the input from boundary <paramref name="b"/> encodes to exactly the tokens from b on.</summary>
    /// <remarks>
    /// Words from a word's start split as before; the words of a text cut inside a word may not (a cut inside
    /// <c>'''s</c> can leave the contraction <c>'s</c>): those are re-encoded up to where the two splits meet again.
    /// </remarks>
    private bool SuffixEncodesTheSame(int b)
    {
        int unitIndex = _unitOfToken[b];
        var unit = _units[unitIndex];
        if (unit.Kind != UnitKind.Word || unit.FirstToken == b) return true;

        // Token b - 1 is in the same word, so the boundary's position is in this segment's text.
        int cut = _boundaries[b].Position;
        var text = _segments[unit.Segment].Text.Span;
        int position = cut;
        int length = Gpt2PreTokenizer.NextWordLength(text[position..unit.StretchEnd]);
        if (position + length == unit.End) return true;
        var ids = new List<int>();
        int last = unitIndex;
        while (true)
        {
            _tokenizer.Encoder.Encode(text.Slice(position, length), ids);
            position += length;
            while (_units[last].End < position) last++;
            if (_units[last].End == position || position == unit.StretchEnd) break;
            length = Gpt2PreTokenizer.NextWordLength(text[position..unit.StretchEnd]);
        }
        int end = _units[last].FirstToken + _units[last].TokenCount;
        return CollectionsMarshal.AsSpan(ids).SequenceEqual(CollectionsMarshal.AsSpan(_ids)[b..end]);
    }

    private void EncodeWords(ReadOnlySpan<char> text, List<int> ids)
    {
        while (!text.IsEmpty)
        {
            int length = Gpt2PreTokenizer.NextWordLength(text);
            _tokenizer.Encoder.Encode(text[..length], ids);
            text = text[length..];
        }
    }

    private enum UnitKind : byte
    {
        /// <summary>A special token, matched in the raw text.</summary>
        Special,

        /// <summary>An added token matched in the normalized text (a space run, a PII placeholder).</summary>
        Added,

        /// <summary>A word of the GPT-2 pre-tokenizer.</summary>
        Word,

        /// <summary>The whole text as one BPE word (encoding without pre-tokenization).</summary>
        WholeText,
    }

    /// <summary>
    /// A unit of <see cref="Segment"/>'s text [<paramref name="Start"/>, <paramref name="End"/>), inside the stretch
    /// between added tokens [<paramref name="StretchStart"/>, <paramref name="StretchEnd"/>) that words are split in.
    /// </summary>
    private readonly record struct Unit(
        UnitKind Kind, int Segment, int Start, int End, int StretchStart, int StretchEnd, int FirstToken, int TokenCount);

    /// <summary>
    /// A boundary: <paramref name="Floor"/>, <paramref name="PrefixCut"/> and <paramref name="SuffixCut"/> are offsets
    /// in the input (the cuts -1 where there is none); <paramref name="Position"/> is in its segment's text.
    /// </summary>
    private readonly record struct Boundary(int Floor, int PrefixCut, int SuffixCut, int Position);

    /// <summary>Where a position of a segment's text lies in the input (relative to the segment's start).</summary>
    private readonly record struct Place(int Floor, int Prefix, int Suffix);

    /// <summary>
    /// A stretch of the input between special tokens, as the tokenizer sees it (normalized), with the map back:
    /// outside the stretches NFC rewrote, positions shift by what the rewritten stretches before them gained or
    /// lost; inside one, the positions found to be cuts map to their place in the input, the rest round down.
    /// </summary>
    private sealed class Segment
    {
        private readonly ReadOnlyMemory<char> _original;
        private readonly List<NfcChange>? _changes;
        private readonly int[]? _shifts;

        // The cuts inside each change, found when a boundary first falls inside it (most changes hold none).
        private Dictionary<int, (int[]? Prefix, int[]? Suffix)>? _cuts;

        public Segment(ReadOnlyMemory<char> text, int source, List<NfcChange>? changes, ReadOnlyMemory<char> original)
        {
            Text = text;
            Source = source;
            _original = original;
            if (changes is null) return;
            _changes = changes;
            _shifts = new int[changes.Count + 1];
            for (int i = 0; i < changes.Count; i++)
            {
                var change = changes[i];
                _shifts[i + 1] = _shifts[i] + (change.SourceEnd - change.SourceStart) - (change.End - change.Start);
            }
        }

        /// <summary>The text the tokenizer sees.</summary>
        public ReadOnlyMemory<char> Text { get; }

        /// <summary>Where the segment starts in the input.</summary>
        public int Source { get; }

        public Place Map(int position)
        {
            if (_changes is null) return new Place(position, position, position);
            int lo = 0, hi = _changes.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_changes[mid].End <= position) lo = mid + 1;
                else hi = mid;
            }

            // Changes before lo end at or before the position; change lo, if any, ends after it.
            if (lo == _changes.Count || position <= _changes[lo].Start)
            {
                int source = position + _shifts![lo];
                return new Place(source, source, source);
            }
            var change = _changes[lo];
            int offset = position - change.Start;
            _cuts ??= [];
            if (!_cuts.TryGetValue(lo, out var cuts))
            {
                cuts = FindCuts(_original.Span[change.SourceStart..change.SourceEnd], Text.Span[change.Start..change.End]);
                _cuts.Add(lo, cuts);
            }
            var (prefixCuts, suffixCuts) = cuts;
            if (prefixCuts is null || suffixCuts is null) return new Place(change.SourceStart, -1, -1);
            int floor = change.SourceStart;
            for (int p = offset; p > 0; p--)
            {
                if (prefixCuts[p] >= 0)
                {
                    floor = change.SourceStart + prefixCuts[p];
                    break;
                }
            }
            int prefix = prefixCuts[offset], suffix = suffixCuts[offset];
            return new Place(floor, prefix < 0 ? -1 : change.SourceStart + prefix, suffix < 0 ? -1 : change.SourceStart + suffix);
        }

        /// <summary>
        /// For each position inside <paramref name="normalized"/> (the NFC form of <paramref name="original"/>), the
        /// position of <paramref name="original"/> whose part before it normalizes to the part before the position
        /// (prefix cuts), and the one whose part after it normalizes to the part after the position (suffix cuts);
        /// -1 where there is none; null for a stretch too long to search.
        /// </summary>
        private static (int[]? Prefix, int[]? Suffix) FindCuts(ReadOnlySpan<char> original, ReadOnlySpan<char> normalized)
        {
            if (original.Length > SearchedChangeLength) return (null, null);
            var prefix = new int[normalized.Length + 1];
            var suffix = new int[normalized.Length + 1];
            prefix.AsSpan().Fill(-1);
            suffix.AsSpan().Fill(-1);
            for (int q = 1; q < original.Length; q++)
            {
                if (char.IsLowSurrogate(original[q]) && char.IsHighSurrogate(original[q - 1])) continue;
                string before = Nfc.NormalizeOrNull(original[..q]) ?? original[..q].ToString();
                if (before.Length < normalized.Length && normalized.StartsWith(before, StringComparison.Ordinal)) prefix[before.Length] = q;
                string after = Nfc.NormalizeOrNull(original[q..]) ?? original[q..].ToString();
                if (after.Length < normalized.Length && normalized.EndsWith(after, StringComparison.Ordinal)) suffix[normalized.Length - after.Length] = q;
            }
            return (prefix, suffix);
        }
    }
}
