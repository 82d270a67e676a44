using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using OlmoeSharp.Analysis;
using OlmoeSharp.Cli.Experts;
using OlmoeSharp.Scoring;
using OlmoeSharp.Tokenization;

namespace OlmoeSharp.Cli.Commands;

/// <summary>
/// <c>experts --model M --input FILE… [--compare OTHER_MODEL] --out DIR [--routing-out FILE.jsonl] [--context N]</c>:
/// the OLMoE paper's router analyses on the user's text — expert load per layer and per input (domain),
/// co-activation, vocabulary specialisation and, with <c>--compare</c>, router saturation — as CSV, JSON, PNG
/// pictures and one report.html. Progress goes to stderr, a per-layer summary to stdout.
/// </summary>
internal static class ExpertsCommand
{
    /// <summary>The sequence length the paper's routing analyses run (2,048 tokens), when the model holds that many.</summary>
    private const int PaperContext = 2048;

    public static Command Create()
    {
        var model = CommonOptions.Model();
        model.Description = "The model whose router to look into (with --compare: the final checkpoint). " + model.Description;
        var input = new Option<string[]>("--input")
        {
            Description = "UTF-8 text files, one per domain (each is tokenized whole and routed on its own).",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var compare = new Option<string?>("--compare") { Description = "Another checkpoint of the same shape (an earlier one): router saturation against --model on the same tokens." };
        var output = new Option<string>("--out") { Description = "Folder for the CSV, JSON and PNG files and report.html (created if missing).", Required = true };
        var routingOut = new Option<string?>("--routing-out") { Description = "Also write the raw routing as JSON lines: {\"input\", \"position\", \"token\", \"layer\", \"experts\", \"weights\"} per token and layer." };
        var context = new Option<int?>("--context") { Description = $"Tokens per window; each window is routed from an empty cache (default: {PaperContext}, as the paper, or the model's context if shorter)." };
        var threads = CommonOptions.Threads();
        var weights = CommonOptions.Weights();
        var kvCache = CommonOptions.KvCache();
        var noProbe = CommonOptions.NoProbe();
        var command = new Command("experts", "The OLMoE paper's router analyses on your text: expert load, co-activation, vocabulary specialisation, saturation; CSV, PNG and report.html.")
        {
            model, input, compare, output, routingOut, context, threads, weights, kvCache, noProbe,
        };
        command.SetAction((parse, cancel) => CliRunner.RunAsync(async () =>
        {
            string[] paths = parse.GetValue(input)!;
            string outDir = parse.GetValue(output)!;
            string modelName = parse.GetValue(model)!;
            string? compareName = parse.GetValue(compare);
            var texts = new string[paths.Length];
            for (int i = 0; i < paths.Length; i++) texts[i] = await File.ReadAllTextAsync(paths[i], cancel);
            var names = UniqueNames(paths);
            Task<OlmoeModel> Load(string name) => ModelLoading.LoadAsync(name, parse.GetValue(threads), parse.GetValue(weights),
                CommonOptions.ParseKvCache(parse.GetValue(kvCache)!), !parse.GetValue(noProbe), cancel);

            int[][] tokens;
            int window;
            InputRouting[] routings;
            OlmoeTokenizer tokenizer;
            Model.OlmoeConfig config;
            using (var loaded = await Load(modelName))
            {
                var scorer = new Scorer(loaded);
                tokens = [.. texts.Select(scorer.Encode)];
                window = parse.GetValue(context) ?? Math.Min(PaperContext, loaded.Config.MaxPositionEmbeddings);
                routings = RouteAll(loaded, names, tokens, window, cancel);
                tokenizer = loaded.Tokenizer!;
                config = loaded.Config;
            }
            InputRouting[]? compared = null;
            if (compareName is not null)
            {
                using var other = await Load(compareName);
                var c = other.Config;
                if (c.NumHiddenLayers != config.NumHiddenLayers || c.NumExperts != config.NumExperts || c.NumExpertsPerToken != config.NumExpertsPerToken || c.VocabSize != config.VocabSize)
                    throw new ArgumentException($"--compare {compareName}: {c.NumHiddenLayers} layers, {c.NumExpertsPerToken} of {c.NumExperts} experts, vocabulary {c.VocabSize}; "
                        + $"--model has {config.NumHiddenLayers}, {config.NumExpertsPerToken} of {config.NumExperts}, {config.VocabSize}: saturation compares checkpoints of the same shape.");
                compared = RouteAll(other, names, tokens, window, cancel);
            }

            var findings = new ExpertFindings(modelName, compareName, window, routings,
                ExpertLoad.Of(routings), [.. routings.Select(ExpertLoad.Of)], CoActivation.Of(routings), VocabularySpecialisation.Of(routings),
                compared is null ? null : RouterSaturation.Compare(routings, compared), id => tokenizer.Decode([id]));
            Directory.CreateDirectory(outDir);
            var written = WriteAll(findings, outDir);
            if (parse.GetValue(routingOut) is { } jsonl)
            {
                using var stream = File.Create(jsonl);
                RoutingJsonl.Write(stream, routings);
                written.Add(jsonl);
            }
            PrintSummary(findings);
            Console.Error.WriteLine($"wrote {string.Join(", ", written.Select(Path.GetFileName))}; open {Path.Combine(outDir, "report.html")}");
            return 0;
        }));
        return command;
    }

    private static InputRouting[] RouteAll(OlmoeModel model, string[] names, int[][] tokens, int context, CancellationToken cancel)
    {
        if (context < 1 || context > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"--context {context}: a window must be 1 to {model.Directory}'s {model.Config.MaxPositionEmbeddings} positions.");
        var routings = new InputRouting[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            var progress = new TokenProgress($"[{i + 1}/{tokens.Length}] {names[i]}", tokens[i].Length);
            routings[i] = RoutingRecorder.Route(model, names[i], tokens[i], context, progress, cancel);
            progress.Finish();
        }
        return routings;
    }

    /// <summary>Writes every table, picture and the report into <paramref name="dir"/>; returns the paths written.</summary>
    private static List<string> WriteAll(ExpertFindings f, string dir)
    {
        string k = $"top-{f.ExpertsPerToken}";
        string uniform = $"{100.0 / f.NumExperts:0.##}%";
        string layers = string.Join(", ", f.PictureLayers);
        var figures = new List<(ExpertReport.Figure Figure, Action<ExpertFindings, string> Draw)>
        {
            (new("load.png", "Expert load per layer",
                $"Each bar is one expert's share of the layer's {k} assignments over all inputs; the dashed line is perfectly even routing ({uniform} each). "
                + "A flat layer uses all its experts alike (what the load-balancing loss trains for); tall bars are experts the text leans on, missing ones experts it never picks."), ExpertCharts.Load),
            (new("domains.png", "Expert load per input (domain)",
                $"Layers {layers}: each row is one input file, each column an expert, the colour its share of that input's {k} assignments (even: {uniform}). "
                + "Columns that light up for one row only are experts specialised in that domain (the paper's domain specialisation); one colour scale for all layers."), ExpertCharts.Domains),
            (new("coactivation.png", "Co-activation",
                $"Layers {layers}: row a, column b is P(b chosen | a chosen) — how often expert b is among the {k} when a is. Grey: the diagonal and experts never chosen. "
                + $"Even, independent routing gives about {100.0 * (f.ExpertsPerToken - 1) / (f.NumExperts - 1):0.#}% everywhere; bright cells are pairs that work together, which the paper finds rare in OLMoE."), ExpertCharts.CoActivation),
            (new("vocabulary.png", "Vocabulary specialisation",
                $"Per layer: for each token id, the share of its occurrences whose first choice is its most frequent expert, averaged over the {f.Vocabulary.TokenIds(0)} ids with each id alike (the paper's measure; blue) "
                + "and weighted by occurrences (orange). 100% means every token always goes to one expert. An id seen once always scores 100%, so short texts read high; "
                + "expert_tokens.csv lists each expert's most frequent tokens."), ExpertCharts.Vocabulary),
        };
        if (f.Saturation is not null)
            figures.Add((new("saturation.png", "Router saturation",
                $"Per layer: of the {k} experts {f.Model} picks for a token, the share {f.CompareModel} picks as well (blue), and how often both make the same first choice (orange), on the same tokens. "
                + $"100% is identical routing; the dashed and dotted lines are chance ({100.0 * f.ExpertsPerToken / f.NumExperts:0.#}% and {uniform}). The paper finds OLMoE's routing saturates early in training."), ExpertCharts.Saturation));

        var tables = new List<(ExpertReport.DataFile File, Action<ExpertFindings, string> Write)>
        {
            (new("expert_load.csv", "per input (and all), layer and expert: top-k assignments and their share, first choices and their share"), ExpertTables.Load),
            (new("coactivation.csv", "per layer and ordered pair a ≠ b: tokens choosing both, tokens choosing a, P(b | a)"), ExpertTables.CoActivation),
            (new("vocabulary.csv", "per layer: token ids counted, vocabulary specialisation per id and weighted by occurrences"), ExpertTables.Vocabulary),
            (new("expert_tokens.csv", "per layer and expert: the 10 tokens most often routed to it first, with counts and the share of each token"), ExpertTables.ExpertTokens),
        };
        if (f.Saturation is not null)
            tables.Add((new("saturation.csv", "per layer: top-k and top-1 router saturation"), ExpertTables.Saturation));

        var written = new List<string>();
        foreach (var (file, write) in tables)
        {
            write(f, Path.Combine(dir, file.File));
            written.Add(Path.Combine(dir, file.File));
        }
        foreach (var (figure, draw) in figures)
        {
            draw(f, Path.Combine(dir, figure.File));
            written.Add(Path.Combine(dir, figure.File));
        }
        var dataFiles = tables.Select(t => t.File).Append(new("summary.json", "the run, its inputs and per layer the headline figures")).ToList();
        ExpertTables.Summary(f, Path.Combine(dir, "summary.json"), [.. dataFiles.Select(d => d.File), .. figures.Select(x => x.Figure.File), "report.html"]);
        written.Add(Path.Combine(dir, "summary.json"));
        ExpertReport.Write(Path.Combine(dir, "report.html"), f, figures.Select(x => x.Figure), dataFiles);
        written.Add(Path.Combine(dir, "report.html"));
        return written;
    }

    private static void PrintSummary(ExpertFindings f)
    {
        var inv = CultureInfo.InvariantCulture;
        for (int l = 0; l < f.Layers; l++)
        {
            double max = Enumerable.Range(0, f.NumExperts).Max(e => f.Load.Share(l, e));
            var pair = f.CoActivation.StrongestPair(l);
            string line = string.Create(inv, $"layer {l}: busiest expert {100 * max:F1}% of assignments; vocabulary specialisation {100 * f.Vocabulary.Specialisation(l):F1}% (weighted {100 * f.Vocabulary.OccurrenceWeighted(l):F1}%)");
            if (pair is { } p) line += string.Create(inv, $"; strongest co-activation {p.A}→{p.B} {100 * p.Probability:F1}% (of {f.CoActivation.Chosen(l, p.A)} tokens choosing {p.A})");
            if (f.Saturation is { } s) line += string.Create(inv, $"; saturation top-{f.ExpertsPerToken} {100 * s.TopK(l):F1}%, top-1 {100 * s.TopOne(l):F1}%");
            Console.WriteLine(line);
        }
    }

    /// <summary>The inputs' file names, numbered where two are alike.</summary>
    private static string[] UniqueNames(string[] paths)
    {
        var names = paths.Select(p => Path.GetFileName(p) is { Length: > 0 } n ? n : "input").ToArray();
        return [.. names.Select((n, i) => names.Count(x => x == n) > 1 ? $"{n} ({i + 1})" : n)];
    }

    /// <summary>On a terminal one line rewritten after every window; redirected, a line every few seconds and at the end.</summary>
    private sealed class TokenProgress(string label, int total) : IProgress<int>
    {
        private static readonly TimeSpan RedirectedInterval = TimeSpan.FromSeconds(5);
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan? _lastLine;

        public void Report(int done)
        {
            if (Console.IsErrorRedirected && done < total && _clock.Elapsed - _lastLine < RedirectedInterval) return; // null: the first line always shows
            _lastLine = _clock.Elapsed;
            double rate = done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
            var remaining = TimeSpan.FromSeconds(Math.Round((total - done) / rate));
            string line = string.Create(CultureInfo.InvariantCulture, $"{label}: {done}/{total} tokens routed, {rate:F1} tokens/s, {remaining:c} left");
            if (Console.IsErrorRedirected) Console.Error.WriteLine(line);
            else Console.Error.Write($"\r{line}\u001b[K");
        }

        public void Finish()
        {
            if (!Console.IsErrorRedirected) Console.Error.WriteLine();
        }
    }
}
