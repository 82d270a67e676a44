namespace OlmoeSharp.Generation;

/// <summary>
/// Idle sessions kept by a <see cref="TextGenerator"/> for prefix caching: a request leases the session whose tokens
/// share the longest prefix with its prompt and only evaluates the rest. A leased session belongs to one request
/// until it is returned; the pool is bounded in count and in allocated KV cache bytes (least recently returned
/// sessions go first). Thread-safe.
/// </summary>
internal sealed class SessionPool(OlmoeModel model, int maxSessions, long maxBytes)
{
    private readonly List<InferenceSession> _idle = []; // oldest first
    private readonly Lock _lock = new();

    /// <summary>
    /// A session holding the longest prefix of <paramref name="prompt"/> any idle session holds (at most all but its
    /// last token, whose logits are needed), truncated to it; a new empty session when none shares a token.
    /// A session that holds more than the shared prefix is left in the pool and its prefix copied (a memory copy, far
    /// cheaper than recomputing) into another idle session or a new one, so a long conversation's cache survives a new
    /// request that shares only its system prompt. The copy runs under the pool's lock (milliseconds: a memory copy).
    /// </summary>
    public (InferenceSession Session, int Reused) Lease(IReadOnlyList<int> prompt)
    {
        lock (_lock)
        {
            int best = -1, bestLength = 0;
            for (int i = 0; i < _idle.Count; i++)
            {
                int n = CommonPrefix(_idle[i].Tokens, prompt);
                if (n > bestLength || (n == bestLength && n > 0 && best >= 0 && _idle[i].Position < _idle[best].Position))
                    (best, bestLength) = (i, n);
            }
            // Nothing to reuse: a new session, leaving the idle ones' caches to later requests (eviction happens on return).
            if (best < 0) return (model.CreateSession(), 0);
            var source = _idle[best];
            if (source.Position == bestLength)
            {
                _idle.RemoveAt(best);
                source.Truncate(bestLength);
                return (source, bestLength);
            }
            // Copy the prefix into the oldest other idle session (which holds less of this prompt), or a new one.
            InferenceSession target;
            if (_idle.Count > 1)
            {
                int victim = best == 0 ? 1 : 0;
                target = _idle[victim];
                _idle.RemoveAt(victim);
            }
            else
            {
                target = model.CreateSession();
            }
            target.CopyPrefixFrom(source, bestLength);
            return (target, bestLength);
        }
    }

    /// <summary>Gives a session back (it becomes the newest), evicting the oldest while the pool is over its bounds.</summary>
    public void Return(InferenceSession session)
    {
        if (maxSessions == 0) return;
        lock (_lock)
        {
            _idle.Add(session);
            long bytes = 0;
            foreach (var s in _idle) bytes += s.CacheBytes;
            while (_idle.Count > maxSessions || (bytes > maxBytes && _idle.Count > 0))
            {
                bytes -= _idle[0].CacheBytes;
                _idle.RemoveAt(0);
            }
        }
    }

    private static int CommonPrefix(ReadOnlySpan<int> held, IReadOnlyList<int> prompt)
    {
        int limit = Math.Min(held.Length, prompt.Count - 1), n = 0;
        while (n < limit && held[n] == prompt[n]) n++;
        return n;
    }
}
