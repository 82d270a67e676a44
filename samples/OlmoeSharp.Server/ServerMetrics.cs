using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Server;

/// <summary>
/// What <c>GET /metrics</c> reports, in Prometheus' text format: queue depth and running sequences (from the
/// <see cref="AdmissionQueue"/>), generated tokens (a counter, and tokens/s over the last
/// <see cref="RateWindowSeconds"/> seconds), time to first token (a histogram, from a request's arrival to its
/// sequence's first token, queueing included), requests by endpoint and status, and sequences by how they ended.
/// </summary>
internal sealed class ServerMetrics(AdmissionQueue admission, ModelHost host)
{
    public const int RateWindowSeconds = 10;

    /// <summary>Upper bounds of the time-to-first-token buckets, seconds.</summary>
    private static readonly double[] FirstTokenBuckets = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<FinishReason, long> _finished = new();
    private readonly long[] _firstTokenCounts = new long[FirstTokenBuckets.Length + 1];
    private readonly Lock _lock = new();
    private readonly long[] _tokensPerSecond = new long[RateWindowSeconds + 1];
    private readonly long[] _secondOfSlot = new long[RateWindowSeconds + 1];
    private double _firstTokenSum;
    private long _promptTokens, _generatedTokens;

    public void RequestFinished(string endpoint, int status) => _requests.AddOrUpdate((endpoint, status), 1, (_, c) => c + 1);

    public void PromptProcessed(int tokens) => Interlocked.Add(ref _promptTokens, tokens);

    public void FirstToken(TimeSpan sinceArrival)
    {
        double seconds = sinceArrival.TotalSeconds;
        int bucket = Array.FindIndex(FirstTokenBuckets, b => seconds <= b);
        lock (_lock)
        {
            _firstTokenCounts[bucket < 0 ? FirstTokenBuckets.Length : bucket]++;
            _firstTokenSum += seconds;
        }
    }

    public void TokenGenerated()
    {
        Interlocked.Increment(ref _generatedTokens);
        long second = Stopwatch.GetTimestamp() / Stopwatch.Frequency;
        int slot = (int)(second % _tokensPerSecond.Length);
        lock (_lock)
        {
            if (_secondOfSlot[slot] != second)
            {
                _secondOfSlot[slot] = second;
                _tokensPerSecond[slot] = 0;
            }
            _tokensPerSecond[slot]++;
        }
    }

    public void SequenceFinished(FinishReason reason) => _finished.AddOrUpdate(reason, 1, (_, c) => c + 1);

    /// <summary>Tokens per second over the last <see cref="RateWindowSeconds"/> whole seconds (the current one is still filling).</summary>
    public double TokensPerSecond()
    {
        long now = Stopwatch.GetTimestamp() / Stopwatch.Frequency, sum = 0;
        lock (_lock)
        {
            for (int i = 0; i < _tokensPerSecond.Length; i++)
                if (_secondOfSlot[i] < now && _secondOfSlot[i] >= now - RateWindowSeconds) sum += _tokensPerSecond[i];
        }
        return (double)sum / RateWindowSeconds;
    }

    /// <summary>The Prometheus text exposition (format 0.0.4).</summary>
    public string Render()
    {
        var text = new StringBuilder();
        Gauge(text, "olmoe_model_loaded", "1 once the model is loaded and requests are served.", host.Loaded is null ? 0 : 1);
        Gauge(text, "olmoe_queue_depth", "Sequences waiting for admission.", admission.Waiting);
        Gauge(text, "olmoe_running_sequences", "Sequences generating now.", admission.Running);
        Gauge(text, "olmoe_max_sequences", "Sequences allowed to run at once (--max-sequences).", admission.MaxRunning);
        Gauge(text, "olmoe_max_queue", "Sequences allowed to wait (--max-queue).", admission.MaxWaiting);
        Gauge(text, "olmoe_generation_tokens_per_second", $"Tokens generated per second over the last {RateWindowSeconds} s, all sequences together.", TokensPerSecond());
        Counter(text, "olmoe_generated_tokens_total", "Tokens generated.", Interlocked.Read(ref _generatedTokens));
        Counter(text, "olmoe_prompt_tokens_total", "Prompt tokens of admitted requests (each prompt once, however many choices).", Interlocked.Read(ref _promptTokens));
        if (host.Loaded?.Model.BatchingStatus is { } batching)
        {
            Gauge(text, "olmoe_running_cache_bytes", "KV cache bytes the running sequences hold.", batching.RunningCacheBytes);
            Counter(text, "olmoe_batch_steps_total", "Batched forward steps (each runs every running sequence's next token, and prompt chunks).", batching.Steps);
            Counter(text, "olmoe_batch_step_tokens_total", "Tokens the batched steps processed.", batching.StepTokens);
            Counter(text, "olmoe_batch_step_sequences_total", "Sequences the batched steps served, summed over steps (÷ steps = mean batch size).", batching.StepSequences);
        }

        text.Append("# HELP olmoe_time_to_first_token_seconds From a request's arrival (queueing included) to a sequence's first generated token.\n");
        text.Append("# TYPE olmoe_time_to_first_token_seconds histogram\n");
        lock (_lock)
        {
            long cumulative = 0;
            for (int i = 0; i <= FirstTokenBuckets.Length; i++)
            {
                cumulative += _firstTokenCounts[i];
                string bound = i < FirstTokenBuckets.Length ? Number(FirstTokenBuckets[i]) : "+Inf";
                text.Append($"olmoe_time_to_first_token_seconds_bucket{{le=\"{bound}\"}} {cumulative}\n");
            }
            text.Append($"olmoe_time_to_first_token_seconds_sum {Number(_firstTokenSum)}\n");
            text.Append($"olmoe_time_to_first_token_seconds_count {cumulative}\n");
        }

        text.Append("# HELP olmoe_requests_total Requests answered, by endpoint and HTTP status.\n# TYPE olmoe_requests_total counter\n");
        foreach (var ((endpoint, status), count) in _requests.OrderBy(r => r.Key))
            text.Append($"olmoe_requests_total{{endpoint=\"{endpoint}\",code=\"{status}\"}} {count}\n");

        text.Append("# HELP olmoe_sequences_finished_total Sequences ended, by reason (stop, length, cancelled: the client went away).\n# TYPE olmoe_sequences_finished_total counter\n");
        foreach (var reason in Enum.GetValues<FinishReason>())
            text.Append($"olmoe_sequences_finished_total{{reason=\"{reason.ToString().ToLowerInvariant()}\"}} {_finished.GetValueOrDefault(reason)}\n");
        return text.ToString();
    }

    private static void Gauge(StringBuilder text, string name, string help, double value) =>
        text.Append($"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {Number(value)}\n");

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        text.Append($"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
