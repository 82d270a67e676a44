namespace OlmoeSharp.Generation;

/// <summary>
/// Watches generated text for stop sequences that may arrive split over several tokens. Text that could still be
/// the start of a stop sequence is held back; everything else is released at once. When a stop sequence completes,
/// the text before it is released and the sequence itself never is.
/// </summary>
public sealed class StopSequenceMatcher
{
    private readonly string[] _stops;
    private readonly System.Text.StringBuilder _pending = new();

    /// <param name="stopSequences">The sequences to watch for (non-empty strings).</param>
    public StopSequenceMatcher(IReadOnlyList<string> stopSequences)
    {
        ArgumentNullException.ThrowIfNull(stopSequences);
        _stops = stopSequences.Where(s => !string.IsNullOrEmpty(s)).ToArray();
    }

    /// <summary>True once a stop sequence has been seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds newly generated text; returns the text that is now safe to show (possibly empty).</summary>
    public string Append(string text)
    {
        if (Stopped) return "";
        _pending.Append(text);
        string pending = _pending.ToString();

        int stopAt = -1;
        foreach (string stop in _stops)
        {
            int index = pending.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (stopAt < 0 || index < stopAt)) stopAt = index;
        }
        if (stopAt >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return pending[..stopAt];
        }
        int keep = 0;
        foreach (string stop in _stops)
            for (int length = Math.Min(stop.Length - 1, pending.Length); length > keep; length--)
                if (pending.AsSpan(pending.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    keep = length;
                    break;
                }
        _pending.Clear().Append(pending, pending.Length - keep, keep);
        return pending[..^keep];
    }

    /// <summary>Releases whatever is held back (the end of generation: it can no longer become a stop sequence).</summary>
    public string Flush()
    {
        if (Stopped) return "";
        string rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
