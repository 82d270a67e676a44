using System.CommandLine;
using System.Diagnostics;
using OlmoeSharp.Generation;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>session-bench --model M --system-tokens 1000 --question-tokens 16 --state-tokens 1000 --runs 3</c>: time to first
/// token of a second request sharing a long system prompt, with and without prefix caching, and the time and size of
/// saving and loading a session.
/// </summary>
internal static class SessionBenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var systemTokens = new Option<int>("--system-tokens") { Description = "Tokens of the shared system prompt.", DefaultValueFactory = _ => 1000 };
        var questionTokens = new Option<int>("--question-tokens") { Description = "Tokens of each request after it.", DefaultValueFactory = _ => 16 };
        var stateTokens = new Option<int>("--state-tokens") { Description = "Tokens of the saved and loaded session.", DefaultValueFactory = _ => 1000 };
        var runs = new Option<int>("--runs") { Description = "Measured runs (the median is printed).", DefaultValueFactory = _ => 3 };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var command = new Command("session-bench", "Measure prefix caching (time to first token) and saving/loading a session.")
            { model, systemTokens, questionTokens, stateTokens, runs, threads, weights, kvCache, noProbe };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            using var loaded = await ModelLoading.LoadAsync(parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(weights), CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel);
            int system = parse.GetValue(systemTokens), question = parse.GetValue(questionTokens), n = parse.GetValue(runs);
            var random = new Random(1);
            int[] Tokens(int count) => [.. Enumerable.Range(0, count).Select(_ => random.Next(50000))];
            int[] shared = Tokens(system);
            var options = new GenerationOptions { Temperature = 0, MaxNewTokens = 1, IgnoreEndOfText = true };

            async Task<double> FirstToken(TextGenerator generator, int[] prompt)
            {
                var clock = Stopwatch.StartNew();
                await foreach (var update in generator.GenerateAsync(prompt, options, cancel))
                    if (update.TokenId is not null) break;
                return clock.Elapsed.TotalMilliseconds;
            }

            async Task<double> SecondRequest(bool cached)
            {
                var times = new List<double>();
                for (int r = 0; r < n; r++)
                {
                    var generator = new TextGenerator(loaded) { MaxIdleSessions = cached ? 4 : 0 };
                    await FirstToken(generator, [.. shared, .. Tokens(question)]);
                    times.Add(await FirstToken(generator, [.. shared, .. Tokens(question)]));
                }
                return Median(times);
            }

            await SecondRequest(cached: false); // warm-up
            double without = await SecondRequest(cached: false), with = await SecondRequest(cached: true);
            Console.WriteLine($"second request, {system}-token shared prefix + {question} new tokens, time to first token: " +
                              $"{without:F1} ms without prefix caching, {with:F1} ms with ({without / with:F1}x)");

            int count = parse.GetValue(stateTokens);
            var session = loaded.CreateSession();
            session.Evaluate(Tokens(count), Span<float>.Empty, cancel);
            var saves = new List<double>();
            var loads = new List<double>();
            long size = 0;
            // To a file, as a user saves a session: a growing MemoryStream would time its own reallocations.
            string path = Path.Combine(Path.GetTempPath(), $"olmoe-session-{Environment.ProcessId}.state");
            for (int r = 0; r < n; r++)
            {
                using var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose);
                var clock = Stopwatch.StartNew();
                session.SaveState(stream);
                stream.Flush();
                saves.Add(clock.Elapsed.TotalMilliseconds);
                size = stream.Length;
                stream.Position = 0;
                clock.Restart();
                var restored = loaded.LoadSession(stream);
                loads.Add(clock.Elapsed.TotalMilliseconds);
                if (restored.Position != count) throw new InvalidOperationException("the restored session differs.");
            }
            Console.WriteLine($"session state, {count} tokens ({loaded.KvCachePrecision} cache): {size:N0} bytes ({session.StateBytesPerToken:N0} per token), " +
                              $"save {Median(saves):F1} ms, load {Median(loads):F1} ms (to and from a file in {Path.GetTempPath()})");
            return 0;
        }));
        return command;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
